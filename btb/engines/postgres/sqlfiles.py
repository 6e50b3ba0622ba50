"""Loads `queries/<scenario>/Qn_<name>.sql`: the query texts live in files, reviewed as SQL, not in code."""

from __future__ import annotations

import re
from pathlib import Path

from btb.engines.base import QUERY_IDS

QUERIES_ROOT = Path(__file__).resolve().parents[3] / "queries"
_NAME = re.compile(r"^(Q\d+)_\w+\.sql$")


def load_queries(scenario_id: str, root: Path = QUERIES_ROOT) -> dict[str, str]:
    """{qid: sql text} for every Q1–Q13; a missing or duplicated file is an error, not a skipped query."""
    found: dict[str, str] = {}
    for f in sorted((root / scenario_id).glob("Q*.sql")):
        m = _NAME.match(f.name)
        if not m:
            continue
        if m.group(1) in found:
            raise ValueError(f"two files for {m.group(1)} in {root / scenario_id}")
        found[m.group(1)] = f.read_text()
    missing = [q for q in QUERY_IDS if q not in found]
    if missing:
        raise FileNotFoundError(f"{scenario_id}: no query file for {', '.join(missing)} in {root / scenario_id}")
    return found
