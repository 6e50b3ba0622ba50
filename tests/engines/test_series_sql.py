"""The series half of Q6–Q13 is one SQL text for every PostgreSQL-backed scenario (DESIGN §3): P1 and P2
write only their structure part; their statement is that part as the CTE `fed` + the shared text, which the
hybrids run against their temp table. (That the composed statements answer like the oracle is tested on a
real server in test_postgres_scenarios.py / test_validate.py.)"""

from __future__ import annotations

import re

import pytest

from btb.engines.postgres.scenario import query_texts
from btb.engines.querytexts import load_queries
from btb.engines.series_sql import KEY_COLUMNS, _split_comments, relational_statement, series_texts


@pytest.mark.parametrize("sid", ["P1", "P2"])
def test_relational_statements_run_the_shared_series_text_verbatim(sid):
    composed, shared = query_texts(sid), series_texts()
    assert set(shared) == set(KEY_COLUMNS) == {f"Q{i}" for i in range(6, 14)}
    for qid, text in shared.items():
        body = _split_comments(text)[1]
        body = re.sub(r"\A\s*WITH\s+", "", body)  # its WITH list continues the one that opens with `fed`
        assert body.strip() in composed[qid], qid
        assert re.search(rf"WITH fed\({', '.join(KEY_COLUMNS[qid])}\) AS \(", composed[qid]), qid


@pytest.mark.parametrize("sid", ["P1", "P2"])
def test_relational_query_files_hold_no_series_sql_of_their_own(sid):
    for qid, text in load_queries(sid, ".sql").items():
        if qid in KEY_COLUMNS:
            statement = _split_comments(text)[1]
            assert not re.search(r"\bts\b", statement), f"{sid} {qid}: reads ts itself (a copy of the series part)"


def test_composition_joins_the_series_with_list_and_keeps_recursion():
    structure = "-- structure\nSELECT p.id, p.idx FROM points p WHERE p.id = %(point)s;\n"
    plain = relational_statement("Q7", structure, "-- series\nSELECT f.k1 FROM fed f")
    assert plain == ("-- series\nWITH fed(k1, idx) AS (\n-- structure\nSELECT p.id, p.idx FROM points p "
                     "WHERE p.id = %(point)s\n)\nSELECT f.k1 FROM fed f\n")
    with_list = relational_statement("Q6", "SELECT 1", "WITH d AS (SELECT idx FROM fed) SELECT * FROM d;")
    assert with_list == "\nWITH fed(idx) AS (\nSELECT 1\n),\nd AS (SELECT idx FROM fed) SELECT * FROM d\n"
    recursive = relational_statement("Q6", "SELECT 1", "with recursive r AS (SELECT 1) SELECT * FROM r")
    assert recursive.startswith("\nWITH RECURSIVE fed(idx) AS (") and "),\nr AS (SELECT 1)" in recursive


def test_a_part_without_a_statement_is_refused():
    with pytest.raises(ValueError, match="Q8"):
        relational_statement("Q8", "-- only a comment\n", "SELECT 1")
    with pytest.raises(ValueError, match="Q8"):
        relational_statement("Q8", "SELECT 1", "  \n-- nothing\n")
