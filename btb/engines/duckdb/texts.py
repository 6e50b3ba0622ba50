"""D1/D2's statements: P1's query texts and the shared series SQL, as DuckDB runs them.

DuckDB accepts almost all of P1's PostgreSQL as written (recursive CTEs, LATERAL, DISTINCT ON, FILTER,
`MATERIALIZED`, `::` casts, `extract(isodow …)`); what it does not take is overridden by a file of the same
query id in `queries/duckdb/` (a structure part or a whole Q1–Q5 statement) or `queries/duckdb/series/` (a
series part), so every difference from P1 is one file to read. D1 and D2 name their tables and views alike
and run the same statements. Parameters: psycopg's `%(name)s` become DuckDB's `$name`, and each statement
is given only the parameters it names (DuckDB refuses unused ones).
"""

from __future__ import annotations

import re
from datetime import datetime, timezone
from typing import Any, Mapping

from btb.engines.querytexts import load_queries
from btb.engines.series_sql import KEY_COLUMNS, SERIES_DIR, relational_statement

OVERRIDES = "duckdb"
SERIES_OVERRIDES = "duckdb/series"
BASE = "P1"
TIME_PARAMS = ("start", "end")
_PARAM = re.compile(r"%\((\w+)\)s")


def duck_params(text: str) -> tuple[str, tuple[str, ...]]:
    """(text with `$name` parameters, the names it uses)."""
    names = tuple(dict.fromkeys(_PARAM.findall(text)))
    return _PARAM.sub(lambda m: f"${m.group(1)}", text), names


def statements() -> dict[str, tuple[str, tuple[str, ...]]]:
    """{qid: (DuckDB statement, parameter names)} for Q1–Q13."""
    structure = load_queries(BASE, ".sql")
    structure.update(load_queries(OVERRIDES, ".sql", required=False))
    series = load_queries(SERIES_DIR, ".sql", required=False)
    series.update(load_queries(SERIES_OVERRIDES, ".sql", required=False))
    out = {}
    for qid, text in structure.items():
        if qid in KEY_COLUMNS:
            text = relational_statement(qid, text, series[qid])
        out[qid] = duck_params(text)
    return out


def overridden() -> dict[str, list[str]]:
    """Which texts DuckDB needs its own of: {"structure": [qid…], "series": [qid…]} (for the docs and tests)."""
    return {"structure": sorted(load_queries(OVERRIDES, ".sql", required=False), key=lambda q: int(q[1:])),
            "series": sorted(load_queries(SERIES_OVERRIDES, ".sql", required=False), key=lambda q: int(q[1:]))}


def bind(names: tuple[str, ...], params: Mapping[str, Any]) -> dict[str, Any]:
    """The statement's parameters: window bounds as aware datetimes (TIMESTAMPTZ), the rest as given."""
    out = {}
    for k in names:
        if k not in params:
            raise KeyError(f"binding lacks parameter {k!r}")
        v = params[k]
        if k in TIME_PARAMS and isinstance(v, str):
            dt = datetime.fromisoformat(v.replace("Z", "+00:00"))
            v = dt if dt.tzinfo else dt.replace(tzinfo=timezone.utc)
        out[k] = v
    return out
