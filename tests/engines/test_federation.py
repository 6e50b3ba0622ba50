"""The federation path every hybrid shares, on a real PostgreSQL: the session table (cleared the cheap way,
re-filled by binary COPY, statistics of the load just copied), the `any` path's array parameters, the
choice between the two (forced, or by calibrated thresholds), and the calibration itself."""

from __future__ import annotations

import numpy as np
import psycopg
import pytest

from btb.engines import fed_calibration, fed_crossing, fed_table, federation
from btb.engines.fed_calibration import Calibration
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
    # between the thresholds the id column is built once for the layout and the path: with a null id too
    nulls = [("p1", None)] + [("p1", i * 9) for i in range(149)]  # spread out: 150 < 1000, ANY
    got = federation.federate(lambda: nulls, fed, ("k1", "idx"), JOIN, {})
    forced = federation.federate(lambda: nulls, federation.Federation(conn, "temp_table"), ("k1", "idx"), JOIN, {})
    assert got.notes["federation"] == "any" and got.rows == forced.rows
    ids = federation.federate(lambda: [(i,) for i in range(150)], fed, ("idx",), JOIN.replace("f.k1", "f.idx %% 2"), {})
    assert ids.notes["federation"] == "temp_table" and ids.rows == [(0, 75 * 20), (1, 75 * 20)]
    never = federation.Federation(conn, "auto", Calibration({"contiguous": None, "scattered": None}, points=10))
    assert never.path_for([(i,) for i in range(10**5)]) == "any"


JITTER = (0.0, 0.01, -0.01, 0.02, 0.0, -0.02, 0.005, 0.0, -0.005)


def _runs(ratios, base=1.0, jitter=JITTER):
    """(any, temp) times of 9 rounds whose temp / any is `ratio` at each size, with a little noise."""
    return [([base * (1 + d) for d in jitter], [r * base * (1 - d) for d in jitter]) for r in ratios]


def test_reading_interpolates_the_crossing_and_records_the_band():
    sizes = [10, 100, 1000, 10000]
    r = fed_crossing.read(sizes, _runs([4.0, 2.0, 0.5, 0.4]))
    # log-log between 100 (ratio 2) and 1000 (0.5): halfway
    assert r.threshold == pytest.approx(100 * 10 ** 0.5, rel=0.03) and r.status == "resolved"
    lo, hi = r.band  # where the fit passes 1.05 and 1/1.05: around the crossing, inside (100, 1000)
    assert 100 < lo < r.threshold < hi < 1000
    assert r.verdicts == ["any", "any", "temp", "temp"] and r.wrong_side == []
    assert fed_crossing.read(sizes, _runs([0.5] * 4)).threshold == 10
    never = fed_crossing.read(sizes, _runs([2.0, 1.5, 1.1, 1.0], jitter=(0.0, 0.05, -0.05, 0.03, -0.03, 0.0, 0.02)))
    assert never.threshold is None and never.status.startswith("any: the temp table never clearly faster")
    assert never.verdicts[-1] == "tie" and never.band[1] is None  # never 5 % apart in temp's favour


def test_the_fastest_runs_read_the_cost_not_the_interruptions():
    """Runs slowed 5x at random (another process took the core) in 70 % of one path's rounds and 20 % of the
    other's: the ratio of the fastest runs stays the paths' ratio, where the medians read the interruptions."""
    rng = np.random.default_rng(3)
    a = 1.0 + rng.uniform(0, 0.02, 41)
    t = 2.0 + rng.uniform(0, 0.04, 41)
    a[rng.random(41) < 0.7] *= 5
    t[rng.random(41) < 0.2] *= 5
    lo, ratio, hi = fed_crossing.ratio_ci(t, a)
    assert 1.9 < lo <= ratio <= hi < 2.1
    assert np.median(t) / np.median(a) < 1  # the medians say the slower path is the faster
    with pytest.raises(ValueError, match="one time of each path a round"):
        fed_crossing.ratio_ci([1.0, 2.0], [1.0])


def test_the_rounds_ratios_cancel_a_load_that_changes_between_rounds():
    """Both runs of a round slowed alike by a load that changes from round to round (1-10x): the median of
    the rounds' ratios reads the paths' ratio with an interval at most half as wide (in log) as the ratio of
    medians' over the same rounds."""
    rng = np.random.default_rng(5)
    load = rng.uniform(1, 10, 41)
    a = load * (1 + rng.uniform(-0.02, 0.02, 41))
    t = 1.3 * load * (1 + rng.uniform(-0.02, 0.02, 41))
    lo, ratio, hi = fed_crossing.paired_ratio_ci(t, a)
    assert 1.25 < lo <= ratio <= hi < 1.35
    m_lo, _, m_hi = fed_crossing.ratio_ci(t, a, q=0.5)
    assert np.log(m_hi / m_lo) > 2 * np.log(hi / lo)
    with pytest.raises(ValueError, match="one time of each path a round"):
        fed_crossing.paired_ratio_ci([1.0, 2.0], [1.0])


def test_one_noisy_size_cannot_move_the_crossing_far_and_is_reported():
    """A size that reads wrongly (a burst of other load) is pooled with its neighbours by the monotone fit:
    the crossing stays where the other sizes put it, and the reading says which size contradicts it."""
    sizes = [16, 64, 256, 1024, 4096, 16384]
    r = fed_crossing.read(sizes, _runs([3.0, 2.5, 0.8, 1.6, 1.05, 0.6]))
    assert 4096 < r.threshold < 16384
    assert r.wrong_side == [256] and r.status.startswith("unresolved") and "256" in r.status
    wide = (0.0, 0.5, -0.4, 0.3, -0.3, 0.6, -0.5)  # intervals far wider than the differences: ties, no threshold
    noisy = fed_crossing.read(sizes[:3], _runs([1.1, 1.0, 0.9], jitter=wide))
    assert noisy.verdicts == ["tie"] * 3 and noisy.threshold is None
    with pytest.raises(ValueError, match="one time of each path a round"):
        fed_crossing.read(sizes, [([1.0], [1.0])])


def test_the_monotone_fit_pools_violators():
    assert fed_crossing.monotone([3, 1, 2, 0], [1, 1, 1, 1]) == [3, 1.5, 1.5, 0]
    assert fed_crossing.monotone([1, 2], [3, 1]) == [1.25, 1.25]


def test_calibration_finds_a_known_crossing_on_the_engine(conn, monkeypatch):
    """Both paths as real statements on PostgreSQL whose costs are set by pg_sleep: ANY 20 us an id, the temp
    table 4 ms whatever the size, so they cross at 200 ids; the calibration's ladder (16, 64, 256, 1024, with
    128 measured around the crossing) must find it within the noise of this shared machine."""
    monkeypatch.setattr(fed_calibration, "SIZE_SECONDS", 0.15)

    def run(path, ids):
        secs = 2e-5 * len(ids) if path == "any" else 0.004
        return conn.execute("select count(*) from (select pg_sleep(%s)) s, unnest(%s::int4[])",
                            (secs, ids.tolist())).fetchone()

    clock = fed_calibration.run_queue_clock(conn)  # the backend is a local process: its waits are readable
    assert clock is not None and 0 <= clock() <= clock()
    cal = fed_calibration.calibrate(4096, run, sizes=(16, 64, 256, 1024), queued=clock)
    assert cal.clock == "wall - run-queue waits"
    for lay in ("contiguous", "scattered"):
        assert 128 in cal.sizes[lay] and cal.sizes[lay][-1] <= 4096, cal.to_dict()
        assert 120 <= cal.thresholds[lay] <= 280, cal.to_dict()  # 200, less the ~1 ms of a pg_sleep call
        lo, hi = cal.band[lay]
        assert lo < cal.thresholds[lay] < hi and cal.status[lay] == "resolved", cal.to_dict()
        assert min(cal.rounds[lay]) >= fed_calibration.REPS
        assert cal.ratio[lay][0] > 2 and cal.ratio[lay][-1] < 0.5  # 16 ids: 4 ms against ~0.5; 1024: 4 against ~20


def test_calibration_on_the_engine_is_stored_with_the_load(conn):
    """The crossing measured on this engine (the real statement, both paths, both layouts), kept in the
    series database and read back as it was."""
    fed = federation.Federation(conn, "any")
    params = fed_calibration.window_params("2024-01-01T00:00:00Z")
    run = federation.calibration_run(fed, fed_calibration.JOIN_SQL, params)
    # points 0-2 on the first day (i = 1..1439 minutes): i = 1000; 1, 1001; 2, 1002
    assert run("any", np.arange(3)) == run("temp_table", np.arange(3)) == (5, 3006.0)

    cal = fed_calibration.calibrate(1000, run, sizes=(1, 10, 100), reps=2)
    assert set(cal.thresholds) == set(cal.status) == set(cal.band) == {"contiguous", "scattered"}
    for lay in ("contiguous", "scattered"):
        ns = cal.sizes[lay]
        assert ns[0] == 1 and set(ns) >= {1, 10} and ns == sorted(ns) and ns[-1] <= 1000
        assert len(ns) == len(cal.any_ms[lay]) == len(cal.temp_ms[lay]) == len(cal.ratio[lay]) == len(cal.rounds[lay])
        assert min(cal.any_ms[lay]) > 0 and all(lo <= m <= hi for m, (lo, hi) in zip(cal.ratio[lay], cal.ratio_ci[lay]))
        assert cal.status[lay] == "resolved" or cal.status[lay].startswith(("any:", "unresolved:"))
    assert fed_calibration.stored(conn) is None
    fed_calibration.store(conn, cal)
    fed_calibration.store(conn, cal)  # replaced, not added
    assert fed_calibration.stored(conn) == cal
