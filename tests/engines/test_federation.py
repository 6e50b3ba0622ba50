"""The federation path every hybrid shares, on a real PostgreSQL: the session table (cleared the cheap way,
re-filled by binary COPY, statistics of the load just copied), the `any` path's array parameters, the
choice between the two (forced, or by calibrated thresholds), and the calibration itself."""

from __future__ import annotations

import numpy as np
import psycopg
import pytest

from btb.engines import fed_calibration, fed_table, federation
from btb.engines.fed_calibration import Calibration, crossing
from btb.engines.series_sql import KEY_COLUMNS, series_texts

pytestmark = pytest.mark.integration
JOIN = "select f.k1, count(*) from fed f join ts t on t.point_id = f.idx group by 1 order by 1"


@pytest.fixture(scope="module")
def conn(database):
    ep = database("test_federation")
    with psycopg.connect(ep.dsn, autocommit=True, options=federation.session_options()) as c:
        c.execute("create table ts (point_id int, time timestamptz, value float8)")
        c.execute("insert into ts select i % 1000, timestamptz '2024-01-01' + i * interval '1 minute', i "
                  "from generate_series(1, 20000) i")
        c.execute("create index on ts (point_id, time)")
        c.execute("analyze ts")
        yield c


@pytest.fixture
def table(conn):
    return fed_table.FedTable(conn)  # idempotent: once per session is enough, again is harmless


def _content(conn) -> list[tuple]:
    return conn.execute("select k1, k2, k3, f, idx from fed order by k1, idx").fetchall()


def test_load_generic_rows_with_nulls_and_refill(conn, table):
    rows = [("a", None, "x", 1.5, 3), ("b", "y", None, None, None)]
    assert table.load(("k1", "k2", "k3", "f", "idx"), rows) == 2
    assert _content(conn) == [("a", None, "x", 1.5, 3), ("b", "y", None, None, None)]
    table.load(("k1", "idx"), [("c", 7)])  # cleared first: only the new rows
    assert _content(conn) == [("c", None, None, None, 7)]
    with pytest.raises(ValueError, match="no column"):
        table.load(("nope",), [])


def test_small_loads_are_deleted_large_ones_truncated_and_dead_rows_bounded(conn, table):
    """DELETE after a small load (no new file), TRUNCATE after a large one or once DELETEs have left
    DEAD_ROWS dead rows in the file; the content is always exactly the last load."""
    table.load(("idx",), [(i,) for i in range(10)])
    before = dict(table.clears)
    table.load(("idx",), [(5,)])
    assert table.clears["delete"] == before["delete"] + 1 and table.clears["truncate"] == before["truncate"]
    big = np.arange(fed_table.DELETE_ROWS + 1, dtype=np.int32)
    table.load(("idx",), big)
    table.load(("idx",), [(1,), (None,)])  # a null id: the row-by-row path
    assert table.clears["truncate"] == before["truncate"] + 1
    assert conn.execute("select count(*), count(idx) from fed").fetchone() == (2, 1)
    step = fed_table.DELETE_ROWS
    n_loads = fed_table.DEAD_ROWS // step + 2
    truncates = table.clears["truncate"]
    for k in range(n_loads):
        table.load(("idx",), np.arange(k, k + step, dtype=np.int32))
        assert table.dead <= fed_table.DEAD_ROWS
    assert table.clears["truncate"] > truncates  # the dead rows were reset on the way
    assert conn.execute("select count(*), min(idx) from fed").fetchone() == (step, n_loads - 1)
    pages = conn.execute("select pg_relation_size('fed') / 8192").fetchone()[0]
    assert pages <= 2 * (fed_table.DEAD_ROWS + step) // 200  # the file stays bounded (~226 int rows a page)


def test_a_failed_copy_is_cleared_by_truncate(conn, table):
    table.load(("idx",), [(1,)])
    with pytest.raises((psycopg.Error, TypeError)):  # the row cannot be written: the COPY is aborted
        table.load(("k1", "idx"), [("a", "not an int")])
    assert table.rows is None
    table.load(("idx",), [(2,)])
    assert conn.execute("select idx from fed").fetchall() == [(2,)]


def test_every_load_is_analyzed(conn, table):
    ids = np.arange(0, 3000, dtype=np.int64)
    assert table.load(("idx",), ids) == len(ids)
    n, lo, hi = conn.execute("select count(*), min(idx), max(idx) from fed").fetchone()
    assert (n, lo, hi) == (len(ids), 0, len(ids) - 1)
    reltuples = conn.execute("select reltuples from pg_class where oid = 'fed'::regclass").fetchone()[0]
    assert reltuples == len(ids)
    targets = conn.execute("select attname, attstattarget from pg_attribute where attrelid = 'fed'::regclass "
                           "and attnum > 0").fetchall()
    assert dict(targets) == {c: fed_table.STATS_TARGET for c in fed_table.COLUMNS}


def _idx_bounds(conn) -> tuple[int, int] | None:
    """(first, last) histogram bound of fed.idx as the planner sees them; None without statistics."""
    row = conn.execute("select histogram_bounds::text::int[] from pg_stats "
                       "where tablename = 'fed' and attname = 'idx'").fetchone()
    return (row[0][0], row[0][-1]) if row and row[0] else None


def test_statistics_describe_the_rows_just_copied_not_the_previous_load(conn, table):
    """TRUNCATE and DELETE keep the previous ANALYZE's column statistics: a load that is not analyzed is
    planned with another query's histogram (a merge join over the whole index instead of index probes)."""
    table.load(("idx",), np.arange(0, 10_000, dtype=np.int32))
    lo, hi = _idx_bounds(conn)  # from a sample of 300 x STATS_TARGET rows: the range, to within ~1 %
    assert 0 <= lo <= 100 and 9_900 <= hi <= 9_999
    small = np.arange(500_000, 500_000 + 100 * 200, 200, dtype=np.int32)  # 100 ids far from the previous ones
    table.load(("idx",), small)
    assert _idx_bounds(conn) == (500_000, int(small[-1]))
    reltuples = conn.execute("select reltuples from pg_class where oid = 'fed'::regclass").fetchone()[0]
    assert reltuples == len(small)


@pytest.mark.parametrize("mode", ["any", "temp_table"])
def test_both_forced_paths_give_the_same_rows_phases_and_say_which_ran(conn, mode):
    fed = federation.Federation(conn, mode)
    ans = federation.federate(lambda: [("p1", 1), ("p2", 2)], fed, ("k1", "idx"), JOIN, {})
    assert ans.rows == [("p1", 20), ("p2", 20)]
    assert set(ans.phases) == {"graph", "transfer", "sql"} and all(v >= 0 for v in ans.phases.values())
    assert ans.notes == {"federation": mode, "ids": 2}
    empty = federation.federate(lambda: [], fed, ("k1", "idx"), JOIN, {})
    assert empty.rows == [] and empty.notes["ids"] == 0


def test_every_series_text_answers_alike_on_both_paths(conn):
    """The `any` statement is the series SQL with `fed` as a CTE over the arrays: same rows as the table,
    nulls and repeated keys included, for every series query's key columns."""
    params = {"start": "2024-01-01T00:00:00+00", "end": "2024-01-20T00:00:00+00", "tenant": "tenant:1"}
    values = {"k1": ["a", "a", "b", None], "k2": ["x", None, "y", "y"], "k3": ["u", "v", None, "u"],
              "f": [0.5, 0.5, None, 2.0], "idx": [3, 4, None, 900]}
    for qid, text in series_texts().items():
        cols = KEY_COLUMNS[qid]
        keys = list(zip(*(values[c] for c in cols)))
        if qid in ("Q6", "Q7", "Q8", "Q10", "Q13"):  # their graph parts never return a null id
            keys = [k for k in keys if k[-1] is not None]
        sparams = {k: v for k, v in params.items() if f"%({k})s" in text}
        got = {mode: federation.federate(lambda: keys, federation.Federation(conn, mode), cols, text, sparams).rows
               for mode in ("any", "temp_table")}
        assert got["any"] == got["temp_table"], qid
        assert got["any"] or qid == "Q13", qid  # Q13: these windows hold no office-hours comfort data needed


def test_auto_follows_the_thresholds_and_needs_a_calibration(conn):
    with pytest.raises(ValueError, match="not one of auto, any, temp_table"):
        federation.Federation(conn, "temp")
    with pytest.raises(RuntimeError, match="calibrated at load"):
        federation.Federation(conn, "auto").path_for([(1,)])
    cal = Calibration({"contiguous": 100, "scattered": 1000}, points=1000)
    fed = federation.Federation(conn, "auto", cal)
    assert fed.path_for([(i,) for i in range(99)]) == "any"
    assert fed.path_for([(i,) for i in range(100)]) == "temp_table"  # contiguous: the earlier threshold
    assert fed.path_for([(i * 9,) for i in range(100)]) == "any"  # spread out: the later one
    assert fed.path_for([("k", i * 9) for i in range(1000)]) == "temp_table"
    ans = federation.federate(lambda: [("p1", i) for i in range(150)], fed, ("k1", "idx"), JOIN, {})
    assert ans.notes["federation"] == "temp_table" and ans.rows == [("p1", 150 * 20)]
    never = federation.Federation(conn, "auto", Calibration({"contiguous": None, "scattered": None}, points=10))
    assert never.path_for([(i,) for i in range(10**5)]) == "any"


def test_crossing_interpolates_and_ignores_a_noisy_size_before_a_lasting_win():
    sizes = [10, 100, 1000, 10000]
    assert crossing(sizes, [1, 1, 1, 1], [4, 2, 0.5, 0.5]) == pytest.approx(100 * 10 ** 0.5, rel=0.01)
    assert crossing(sizes, [1, 1, 1, 1], [4, 0.9, 2, 0.5]) == pytest.approx(1000 * 10 ** 0.5, rel=0.01)
    assert crossing(sizes, [1, 1, 1, 1], [0.5, 0.5, 0.5, 0.5]) == 10
    assert crossing(sizes, [1, 1, 1, 1], [2, 2, 2, 1.05]) is None


def test_calibration_on_the_engine_is_stored_with_the_load(conn):
    """The crossing measured on this engine (the real statement, both paths, both layouts), kept in the
    series database and read back as it was."""
    fed = federation.Federation(conn, "any")
    params = fed_calibration.window_params("2024-01-01T00:00:00Z")
    run = federation.calibration_run(fed, fed_calibration.JOIN_SQL, params)
    # points 0-2 on the first day (i = 1..1439 minutes): i = 1000; 1, 1001; 2, 1002
    assert run("any", np.arange(3)) == run("temp_table", np.arange(3)) == (5, 3006.0)

    cal = fed_calibration.calibrate(1000, run, sizes=(1, 10, 100), reps=2)
    assert cal.sizes == [1, 10, 100, 1000] and set(cal.thresholds) == {"contiguous", "scattered"}
    for lay in ("contiguous", "scattered"):
        assert 2 <= len(cal.any_ms[lay]) == len(cal.temp_ms[lay]) <= 4 and min(cal.any_ms[lay]) > 0
        t = cal.thresholds[lay]
        assert t == crossing(cal.sizes[:len(cal.any_ms[lay])], cal.any_ms[lay], cal.temp_ms[lay])
    assert fed_calibration.stored(conn) is None
    fed_calibration.store(conn, cal)
    fed_calibration.store(conn, cal)  # replaced, not added
    assert fed_calibration.stored(conn) == cal
