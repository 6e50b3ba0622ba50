"""D1 (DuckDB file, P1's model) and D2 (DuckDB views over the dataset's Parquet) on real engine hosts started by
the local provider: the oracle gate on a generated and an imported dataset, what each stores, the query texts
DuckDB needs of its own, and the run statuses of a timeout and of DuckDB's own out-of-memory error."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest

from btb.dataset.format import EDGES, NODES, Manifest, series_files
from btb.engines.base import QUERY_IDS, RunOptions
from btb.engines.duckdb import texts
from btb.engines.duckdb.scenario import DuckFileScenario, DuckParquetScenario
from btb.engines.duckdb.client import HostClient
from btb.validate import validate

pytestmark = pytest.mark.integration
MiB = 1 << 20


@pytest.fixture
def loaded(provider, tiny_dataset):
    """A function (scenario class, budget) -> a scenario ingested on a fresh host; all stopped afterwards."""
    made = []

    def make(cls, budget=None, timeout_s=30.0):
        t = f"duck-{cls.id}-{uuid.uuid4().hex[:6]}"
        made.append(t)
        ep = provider.start(t, ("duckdb",), budget).endpoints
        s = cls(ep, RunOptions(timeout_s=timeout_s))
        made.append(s)
        s.ingest(tiny_dataset)
        return s

    yield make
    for x in reversed(made):  # clients first, then their engines
        provider.stop(x) if isinstance(x, str) else x.close()


def test_validate_tiny_13_of_13(tiny_dataset, provider):
    report = validate(tiny_dataset, ["D1", "D2"], provider=provider)
    assert report.ok, [(c.scenario, c.qid, c.status, c.message) for c in report.failures]
    assert not report.empty_oracle
    assert {(c.scenario, c.qid) for c in report.checks} == {(s, q) for s in ("D1", "D2") for q in QUERY_IDS}
    m = Manifest.read(tiny_dataset)
    for sid in ("D1", "D2"):
        assert {k: report.counts[sid][k] for k in ("nodes", "edges", "samples")} == \
            {k: m.counts[k] for k in ("nodes", "edges", "samples")}
    assert report.ingests["D1"].backend.startswith("DuckDB 2.") and "views" in report.ingests["D2"].backend
    assert report.ingests["D1"].rows["ts"] == m.counts["samples"]
    # D2 loads nothing: no rows loaded (never a rows/s figure for defining views), what it serves kept apart
    assert report.ingests["D2"].rows == {} and report.ingests["D2"].details["rows_viewed"]["ts"] == m.counts["samples"]


def test_imported_brick_model_validates(provider, tmp_path):
    from btb.dataset.brick_import import import_model

    model = Path(__file__).resolve().parents[1] / "data" / "brick" / "messy.ttl"
    ds = tmp_path / "messy"
    import_model(model, ds, duration="1d", seed=3)
    report = validate(ds, ["D1", "D2"], provider=provider)
    assert report.ok and not report.empty_oracle, [(c.scenario, c.qid, c.status, c.message) for c in report.failures]
    assert {c.qid for c in report.checks} == set(QUERY_IDS) - set(report.unbound)


def _host(s) -> HostClient:
    return HostClient(s.dsn, s.authkey)


def test_d1_holds_tables_and_d2_only_views_over_the_dataset_files(loaded, tiny_dataset):
    d1, d2 = loaded(DuckFileScenario), loaded(DuckParquetScenario)
    tables = "select count(*) from duckdb_tables() where database_name = current_database()"
    views = "select count(*) from duckdb_views() where not internal and database_name = current_database()"
    assert _host(d1).query(tables) == [(19,)] and _host(d1).query(views) == [(0,)]  # 8 entities, 10 links, ts
    assert _host(d2).query(tables) == [(0,)] and _host(d2).query(views) == [(19,)]  # nothing loaded
    # D2 reads the dataset's own files, through hard links in its work dir (the provider's cold-run eviction
    # reaches them there)
    for f in (tiny_dataset / NODES, tiny_dataset / EDGES, *series_files(tiny_dataset)):
        link = d2.work / "parquet" / f.relative_to(tiny_dataset)
        assert os.stat(link).st_ino == os.stat(f).st_ino
    assert d1.counts() == d2.counts()


def test_query_texts_reuse_p1_and_say_which_are_duckdb_own():
    assert texts.overridden() == {"structure": [], "series": ["Q6"]}
    stmts = texts.statements()
    assert set(stmts) == set(QUERY_IDS)
    for qid, (text, names) in stmts.items():
        assert "%(" not in text and all(f"${n}" in text for n in names), qid
    assert "time_bucket(" in stmts["Q6"][0] and "date_bin(" not in stmts["Q6"][0]
    assert texts.bind(("start", "tenant"), {"start": "2024-01-01T00:00:00Z", "tenant": "t:1", "end": "x"}) == \
        {"start": texts.bind(("start",), {"start": "2024-01-01T00:00:00+00:00"})["start"], "tenant": "t:1"}
    with pytest.raises(KeyError, match="zone"):
        texts.bind(("zone",), {})


def test_a_statement_past_the_timeout_is_a_timeout(loaded):
    d1 = loaded(DuckFileScenario, timeout_s=0.5)
    d1._statements["Q5"] = ("select count(*) from range(1000000000) a, range(1000) b", ())
    out = d1.run("Q5", {})
    assert out.status == "timeout" and out.seconds < 5, out
    assert d1.run("Q3", {"space": "x"}).status == "ok"  # the session goes on


def test_what_d1_records_is_duckdbs_own_time_in_the_host_and_the_round_trip_is_kept_beside_it(loaded):
    """An embedding application waits for execute + fetchall only: D1 records that, timed inside the host; the
    process boundary around it (btb's, there so that the budget binds DuckDB) is kept per run, outside it."""
    d1 = loaded(DuckFileScenario)
    d1._statements["Q5"] = ("select count(*) from range(20000000) t(i) where i % 7 = $k", ("k",))
    out = d1.run("Q5", {"k": 3})
    assert out.status == "ok" and out.rows == [(2857143,)], out
    assert out.seconds == d1._client.engine_s > 0
    trip = out.notes["host_round_trip_s"]
    assert out.seconds < trip < out.seconds + 1.0, (out.seconds, trip)  # the same query, one wire around it


def test_duckdb_out_of_memory_is_status_oom(loaded):
    d1 = loaded(DuckFileScenario, budget=192 * MiB)
    d1._statements["Q5"] = ("select len(list(i)) from range(60000000) t(i)", ())
    out = d1.run("Q5", {})
    assert out.status == "oom" and "memory_limit" in out.message, out


def _with_extra(src: Path, dest: Path, name: str, row: dict) -> Path:
    """A copy of the dataset `src` with one more row in its nodes or edges file."""
    import shutil

    import pyarrow as pa
    import pyarrow.parquet as pq

    shutil.copytree(src, dest)
    t = pq.read_table(dest / name)
    pq.write_table(pa.concat_tables([t, pa.Table.from_pylist([row], schema=t.schema)]), dest / name)
    return dest


@pytest.mark.parametrize("cls", [DuckFileScenario, DuckParquetScenario])
def test_a_model_p1_has_no_table_for_is_refused(cls, provider, tiny_dataset, tmp_path):
    """As P1's load: an edge of a (rel, src type, dst type) with no link table, a dangling edge, or a node type
    with no entity table ends the load with an error naming it, and no structure table is left behind."""
    cases = [(EDGES, {"src": "bldg:1", "rel": "FEEDS", "dst": "floor:1:1"}, "no link table for FEEDS Building->Floor"),
             (EDGES, {"src": "bldg:1", "rel": "CONTAINS", "dst": "nowhere"}, "no link table for CONTAINS Building->None"),
             (NODES, {"id": "robot:1", "type": "Robot"}, "no table for node types ['Robot']")]
    for i, (name, row, message) in enumerate(cases):
        ds = _with_extra(tiny_dataset, tmp_path / f"bad{i}", name, row)
        t = f"duck-bad-{uuid.uuid4().hex[:6]}"
        s = cls(provider.start(t, ("duckdb",), None).endpoints, RunOptions(timeout_s=30))
        try:
            with pytest.raises(ValueError) as err:
                s.ingest(ds)
            assert message in str(err.value)
            left = ("select (select count(*) from duckdb_tables() where database_name = current_database() and "
                    "table_name <> 'ts'), (select count(*) from duckdb_views() where not internal and "
                    "database_name = current_database() and view_name <> 'ts')")
            assert _host(s).query(left) == [(0, 0)]  # ts: the series load's own session
        finally:
            s.close()
            provider.stop(t)
