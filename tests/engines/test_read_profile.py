"""What PostgreSQL read for a query (EXPLAIN ANALYZE BUFFERS), on a real server: reads after a cold restart,
hits once warm, bytes = blocks × the block size; the hybrids' SQL part the same way."""

from __future__ import annotations

import psycopg
import pytest

from btb.dataset.format import load_bindings
from btb.engines import federation
from btb.engines.base import RunOptions
from btb.engines.postgres import explain
from btb.engines.postgres.relational import RelationalScenario
from btb.engines.postgres.scenario import bind as pg_bind
from btb.engines.series_sql import KEY_COLUMNS, series_texts

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def p1(provider, tiny_dataset):
    lid = "load~test~readprofile~P1"
    started = provider.start(lid, ("postgres",), None)
    sc = RelationalScenario(started.endpoints, RunOptions(timeout_s=30))
    sc.ingest(tiny_dataset)
    sc.close()
    yield provider, lid
    provider.stop(lid)


@pytest.mark.parametrize("qid", ["Q3", "Q7", "Q12"])
def test_reads_after_a_cold_restart_then_hits_when_warm(p1, tiny_dataset, qid):
    provider, lid = p1
    endpoints = provider.restart(lid, clean=True)  # empty shared buffers, as a cold run has
    provider.drop_cache(lid)
    sc = RelationalScenario(endpoints, RunOptions(timeout_s=30))
    try:
        params = load_bindings(tiny_dataset, qid, 1)[0]
        cold = sc.read_profile(qid, params)
        warm = sc.read_profile(qid, params)
        again = sc.run(qid, params)  # the query still answers normally on the same session
    finally:
        sc.close()
    assert again.status == "ok" and again.rows
    assert cold["source"] == "explain" and cold["block_size"] == 8192
    assert cold["read_bytes"] > 0 and cold["read_bytes"] % 8192 == 0, cold
    # the same buffers both times: read into shared buffers cold, found there warm
    assert warm["read_bytes"] <= 0.05 * warm["accessed_bytes"], warm
    assert warm["hit_bytes"] >= 0.95 * warm["accessed_bytes"] > 0, warm
    assert warm["accessed_bytes"] == warm["hit_bytes"] + warm["read_bytes"]
    assert warm["accessed_bytes"] <= cold["accessed_bytes"], (cold, warm)  # cold also reads index metapages once
    assert warm["execution_ms"] is not None and warm["temp_written_bytes"] == 0


def test_a_spilling_sort_shows_temp_bytes(p1):
    provider, lid = p1
    sc = RelationalScenario(provider.current(lid, wait_s=15.0), RunOptions(timeout_s=30))
    try:
        c = sc.conn()
        c.execute("set work_mem = '64kB'")
        got = explain.explain_buffers(c, "select value from ts order by value desc", {})
    finally:
        sc.close()
    assert got["temp_written_bytes"] > 0 and got["temp_read_bytes"] > 0, got
    with pytest.raises(KeyError):
        explain.parse([{"Planning Time": 1.0}], 8192)  # not a plan: an error, never zeros


def test_the_federated_sql_part_is_explained_and_still_answers(p1, tiny_dataset):
    provider, lid = p1
    dsn = provider.current(lid, wait_s=15.0)["postgres"].dsn

    params = load_bindings(tiny_dataset, "Q6", 1)[0]
    p = RelationalScenario(provider.current(lid, wait_s=15.0), RunOptions(timeout_s=30))
    try:
        idx = p.conn().execute("select idx from points where id = %s", (params["point"],)).fetchone()[0]
        plain = p.run("Q6", params)
    finally:
        p.close()
    text = series_texts()["Q6"]
    with psycopg.connect(dsn, autocommit=True, options=f"-c timezone=UTC {federation.session_options()}") as c:
        bound = {k: v for k, v in pg_bind(params).items() if f"%({k})s" in text}
        for mode in ("any", "temp_table"):
            fed = federation.Federation(c, mode)
            out = fed.run(lambda: [(idx,)], KEY_COLUMNS["Q6"], text, federation.any_statement(KEY_COLUMNS["Q6"], text),
                          bound, explain=True)
            b = out.notes["buffers"]
            assert b["accessed_bytes"] > 0 and b["hit_bytes"] + b["read_bytes"] == b["accessed_bytes"], (mode, b)
            assert len(out.rows) == len(plain.rows) and out.notes["federation"] == mode
            assert "buffers" not in fed.run(lambda: [(idx,)], KEY_COLUMNS["Q6"], text,
                                            federation.any_statement(KEY_COLUMNS["Q6"], text), bound).notes
