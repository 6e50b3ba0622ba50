"""Bring your own building: a Brick model file -> a btb dataset (docs/brick-import.md).

parse (file -> facts, streamed for N-Triples) -> mapping (classes through the Brick hierarchy, messy-input
rules, summary) -> pointmodels (a generator template per point class) -> build (the dataset directory).
"""

from btb.dataset.brick_import.build import ImportResult, import_model, source_fingerprint
from btb.dataset.brick_import.parse import ModelError

__all__ = ["ImportResult", "ModelError", "import_model", "source_fingerprint"]
