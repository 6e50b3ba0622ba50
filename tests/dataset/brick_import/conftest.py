"""Brick model files committed under tests/data/brick (sources and licence: docs/brick-import.md)."""

from __future__ import annotations

from pathlib import Path

import pytest

MODELS = Path(__file__).resolve().parents[2] / "data" / "brick"


@pytest.fixture(scope="session")
def models() -> Path:
    return MODELS


@pytest.fixture(scope="session")
def hierarchy():
    from btb.dataset.brick_import.hierarchy import load_hierarchy

    return load_hierarchy()
