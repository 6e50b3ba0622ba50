"""The series half of Q6–Q13: one SQL text per query (`queries/shared/series/`), run by every scenario
that keeps its series in PostgreSQL — P1 and P2 as much as the hybrids (F2, M2, O2) — so that a difference
in latency between them is the structure part's, never a difference between two copies of the series SQL.

Each text reads the keys of its question from a relation `fed` with fixed columns (`KEY_COLUMNS`): the
hybrids fill the session temp table `fed` from their structure engine (`btb.engines.federation`); P1 and P2
write their structure part as a SELECT of the same columns (`queries/P1/Q7_….sql`), and their statement
is that part as the CTE `fed` followed by the shared text (`relational_statement`). PostgreSQL inlines a CTE
used once and computes one used several times once, as the hybrid's temp table is.
"""

from __future__ import annotations

import re
from typing import Sequence

from btb.engines.querytexts import load_queries

SERIES_DIR = "shared/series"
# Q6–Q13: the columns of `fed` a query's structure part fills, in order (idx last). F2/M2's Cypher and O2's
# SPARQL graph parts return them; P1/P2's structure parts select them.
KEY_COLUMNS: dict[str, tuple[str, ...]] = {
    "Q6": ("idx",),
    "Q7": ("k1", "idx"),
    "Q8": ("idx",),
    "Q9": ("k1", "k2", "f", "idx"),
    "Q10": ("k1", "k2", "idx"),
    "Q11": ("k1", "k2", "k3", "idx"),
    "Q12": ("k1", "k2", "k3", "idx"),
    "Q13": ("k1", "idx"),
}
_LEADING_WITH = re.compile(r"\A\s*WITH\s+(RECURSIVE\s+)?", re.IGNORECASE)


def series_texts(directory: str = SERIES_DIR) -> dict[str, str]:
    """{qid: series SQL} for Q6–Q13 from `directory` (a layout's own folder, e.g. P1c's chunks); a missing text
    is an error, never a skipped query."""
    texts = load_queries(directory, ".sql", required=False)
    missing = [q for q in KEY_COLUMNS if q not in texts]
    if missing:
        raise FileNotFoundError(f"no series SQL for {missing} in queries/{directory}")
    return {q: texts[q] for q in KEY_COLUMNS}


def _split_comments(text: str) -> tuple[str, str]:
    """(leading `--` comment lines, the statement after them)."""
    lines = text.strip().splitlines()
    n = 0
    while n < len(lines) and (not lines[n].strip() or lines[n].lstrip().startswith("--")):
        n += 1
    return "\n".join(lines[:n]), "\n".join(lines[n:])


def relational_statement(qid: str, structure: str, series: str, columns: Sequence[str] | None = None) -> str:
    """P1/P2's whole statement for a series query: `WITH fed(<KEY_COLUMNS>) AS (<structure part>)` and the
    shared series text (whose own CTEs, if it starts with WITH, join the same WITH list). `columns` instead
    of the query's KEY_COLUMNS: the hybrids' `any` path (`btb.engines.federation.any_statement`)."""
    notes, body = _split_comments(series)
    _, part = _split_comments(structure)
    if not body.strip() or not part.strip():
        raise ValueError(f"{qid}: a structure or series part without a statement")
    m = _LEADING_WITH.match(body)
    recursive = "RECURSIVE " if m and m.group(1) else ""
    head = f"WITH {recursive}fed({', '.join(columns or KEY_COLUMNS[qid])}) AS (\n{structure.strip().rstrip(';')}\n)"
    tail = f",\n{body[m.end():]}" if m else f"\n{body}"
    return f"{notes}\n{head}{tail.rstrip().rstrip(';')}\n"
