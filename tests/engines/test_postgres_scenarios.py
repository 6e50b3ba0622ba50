"""P1 and P2 against a real PostgreSQL: ingest, counts, every query × binding against the oracle,
and timeouts/errors recorded as such (never as empty answers)."""

from __future__ import annotations

import time
from dataclasses import replace

import psycopg
import pyarrow.parquet as pq
import pytest

from btb.dataset import oracle
from btb.dataset.answers import same_answer
from btb.dataset.format import Manifest, series_files
from btb.engines.base import QUERY_IDS, RunOptions
from btb.engines.postgres.document import DocumentScenario
from btb.engines.postgres.relational import RelationalScenario
from btb.dataset.format import load_bindings
from btb.validate import check_scenario

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module", params=[RelationalScenario, DocumentScenario], ids=["P1", "P2"])
def loaded(request, database, tiny_dataset):
    cls = request.param
    scenario = cls({"postgres": database(f"test_{cls.id.lower()}")}, RunOptions(timeout_s=30))
    report = scenario.ingest(tiny_dataset)
    yield scenario, report
    scenario.close()


def variant(scenario, **options):
    """The same scenario on the same database under other run options (a new session)."""
    return type(scenario)(scenario.endpoints, replace(scenario.options, **options))


def test_ingest_report_and_counts_match_manifest(loaded, tiny_dataset):
    scenario, report = loaded
    m = Manifest.read(tiny_dataset)
    counts = scenario.counts()
    assert counts["nodes"] == m.counts["nodes"]
    assert counts["edges"] == m.counts["edges"]
    assert counts["samples"] == m.counts["samples"] == report.rows["ts"] > 0
    assert "native daily range partitions" in report.backend or "timescaledb" in report.backend
    assert scenario.endpoints["postgres"].version.startswith(f"PostgreSQL {report.details['server_version']}")
    assert report.details["settings"]["fsync"] == "off"  # the scratch settings are recorded with the ingest
    assert report.bytes_on_disk > report.details["ts_bytes"] > 0
    assert report.seconds > 0 and report.rows_per_s > 0


def test_binary_copy_round_trips_exact_values(loaded, tiny_dataset):
    """The numpy-built binary rows must land bit-exact: time to the microsecond, value as float32."""
    scenario, _ = loaded
    t = pq.read_table(series_files(tiny_dataset)[0]).slice(0, 500)
    want = sorted(zip(t.column("point_idx").to_pylist(), t.column("time").to_pylist(), t.column("value").to_pylist()))
    ids = sorted(set(t.column("point_idx").to_pylist()))
    with psycopg.connect(scenario.dsn) as c:
        got = c.execute("select point_id, time, value from ts where point_id = any(%(ids)s) and time <= %(last)s "
                        "order by 1, 2", {"ids": ids, "last": max(r[1] for r in want)}).fetchall()
    got = [r for r in got if (r[0], r[1]) in {(w[0], w[1]) for w in want}]
    assert len(got) == len(want)
    for (gp, gt, gv), (wp, wt, wv) in zip(got, want):
        assert (gp, gt) == (wp, wt)
        assert gv == pytest.approx(wv, rel=1e-7, abs=0)


def test_every_query_matches_the_oracle(loaded, tiny_dataset):
    scenario, _ = loaded
    bindings = load_bindings(tiny_dataset)
    expected = {(q, i): oracle.answer(tiny_dataset, q, p) for q in QUERY_IDS for i, p in enumerate(bindings[q])}
    checks = check_scenario(scenario, tiny_dataset, bindings, expected)
    bad = [f"{c.qid}#{c.binding} {c.status}: {c.message}" for c in checks if c.status != "ok"]
    assert not bad, "\n".join(bad)
    assert {c.qid for c in checks} == set(QUERY_IDS)
    assert all(c.got_rows and c.got_rows > 0 for c in checks), "an answer was empty"


def test_timeout_is_a_status_not_an_empty_answer(loaded, tiny_dataset):
    scenario, _ = loaded
    params = load_bindings(tiny_dataset)["Q7"][0]
    hasty = variant(scenario, timeout_s=0.001)
    try:
        out = hasty.run("Q7", params)
        assert out.status == "timeout", out
        assert out.rows is None and "statement_timeout" in out.message
        again = hasty.run("Q3", load_bindings(tiny_dataset)["Q3"][0])  # the session survives the cancel
        assert again.status in ("ok", "timeout")
    finally:
        hasty.close()
    assert scenario.run("Q7", params).status == "ok"


def test_error_is_a_status_with_its_message(loaded, tiny_dataset):
    scenario, _ = loaded
    params = dict(load_bindings(tiny_dataset)["Q6"][0], start="not-a-date")
    out = scenario.run("Q6", params)
    assert out.status == "error" and out.rows is None and "ValueError" in out.message
    params = dict(load_bindings(tiny_dataset)["Q6"][0], point=12345)  # wrong type reaches the server
    out = scenario.run("Q6", params)
    assert out.status == "error" and out.rows is None and out.message


def test_a_wrong_answer_is_detected(loaded, tiny_dataset):
    """The comparison the gate relies on must fail when the engine's answer differs (here: Q1 of another meter)."""
    scenario, _ = loaded
    b = load_bindings(tiny_dataset)["Q2"][0]
    got = scenario.execute("Q2", b).rows
    expected = oracle.answer(tiny_dataset, "Q2", b)
    same, _ = same_answer(expected, got)
    assert same
    same, diff = same_answer(expected, got[:-1])
    assert not same and "missing" in diff


def test_a_killed_backend_is_an_error_and_the_next_query_reconnects(loaded, tiny_dataset):
    scenario, _ = loaded
    params = load_bindings(tiny_dataset)["Q3"][0]
    assert scenario.run("Q3", params).status == "ok"
    pid = scenario.conn().info.backend_pid
    with psycopg.connect(scenario.dsn, autocommit=True) as c:
        c.execute("select pg_terminate_backend(%(pid)s)", {"pid": pid})
    out = scenario.run("Q3", params)
    assert out.status == "error" and out.rows is None and out.message
    again = scenario.run("Q3", params)
    assert again.status == "ok" and again.rows == oracle.answer(tiny_dataset, "Q3", params)


def _prepared(scenario) -> int:
    return scenario.conn().execute("select count(*) from pg_prepared_statements", prepare=False).fetchone()[0]


@pytest.mark.parametrize("policy,want", [("never", 0), ("auto", 1), ("always", 1)])
def test_prepare_policy_is_what_the_server_sees(loaded, tiny_dataset, policy, want):
    """never: custom plans every time (psycopg never prepares); auto: psycopg's default (after 5
    executions); always: prepared from the first execution."""
    scenario, _ = loaded
    s = variant(scenario, prepare=policy)
    params = load_bindings(tiny_dataset)["Q6"][0]
    try:
        first = s.run("Q6", params)
        assert first.status == "ok"
        after_one = _prepared(s)
        for _ in range(9):
            assert s.run("Q6", params).status == "ok"
        after_ten = _prepared(s)
    finally:
        s.close()
    assert after_ten == want, (policy, after_one, after_ten)
    assert after_one == (1 if policy == "always" else 0)


def test_session_settings_are_set_once_at_connect(loaded, tiny_dataset):
    """statement_timeout and timezone come with the session (libpq options), not by a round trip per query."""
    scenario, _ = loaded
    s = variant(scenario, timeout_s=12.5)
    try:
        assert s.run("Q3", load_bindings(tiny_dataset)["Q3"][0]).status == "ok"
        c = s.conn()
        assert c.execute("show statement_timeout").fetchone()[0] == "12500ms"
        assert c.execute("show timezone").fetchone()[0] == "UTC"
    finally:
        s.close()


def test_the_watchdog_cancels_a_query_the_server_would_let_run(loaded, tiny_dataset):
    """Without a server-side timeout (as on engines that have none), the client watchdog cancels the
    statement: a `timeout` status, the backend is free again, and the session serves the next query."""
    scenario, _ = loaded
    s = variant(scenario, timeout_s=0.3)
    s._timeout_ms = 0  # statement_timeout off for this session: only the watchdog is left
    s._queries = {**s._queries, "Q1": "select pg_sleep(20)"}
    try:
        t0 = time.monotonic()
        out = s.run("Q1", {})
        assert out.status == "timeout" and "client watchdog" in out.message, out
        assert time.monotonic() - t0 < 3
        busy = s.conn().execute("select count(*) from pg_stat_activity where query like 'select pg_sleep(20)%%' "
                                "and state = 'active'").fetchone()[0]
        assert busy == 0
        assert s.run("Q3", load_bindings(tiny_dataset)["Q3"][0]).status == "ok"
    finally:
        s.close()
