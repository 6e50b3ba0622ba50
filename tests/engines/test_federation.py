"""The federation path every hybrid shares, on a real PostgreSQL: temp table filled by binary COPY (generic
rows and the id-only numpy fast path), re-filled per query, and phases timed around a JOIN."""

from __future__ import annotations

import numpy as np
import psycopg
import pytest

from btb.engines import federation

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def conn(database):
    ep = database("test_federation")
    with psycopg.connect(ep.dsn, autocommit=True) as c:
        c.execute("create table ts (point_id int, value float8)")
        c.execute("insert into ts select i % 1000, i from generate_series(1, 20000) i")
        federation.create_temp_table(c)
        federation.create_temp_table(c)  # idempotent: once per session is enough, twice is harmless
        yield c


def test_transfer_generic_rows_with_nulls_and_refill(conn):
    rows = [("a", None, "x", 1.5, 3), ("b", "y", None, None, None)]
    assert federation.transfer(conn, ("k1", "k2", "k3", "f", "idx"), rows) == 2
    got = conn.execute("select k1, k2, k3, f, idx from fed order by k1").fetchall()
    assert got == [("a", None, "x", 1.5, 3), ("b", "y", None, None, None)]
    federation.transfer(conn, ("k1", "idx"), [("c", 7)])  # truncated first: only the new rows
    assert conn.execute("select k1, idx from fed").fetchall() == [("c", 7)]
    with pytest.raises(ValueError, match="no column"):
        federation.transfer(conn, ("nope",), [])


def test_id_fast_path_round_trips_and_analyzes_large_sets(conn):
    ids = np.arange(0, 2 * federation.ANALYZE_ROWS, dtype=np.int64)
    assert federation.transfer(conn, ("idx",), ids) == len(ids)
    n, lo, hi = conn.execute("select count(*), min(idx), max(idx) from fed").fetchone()
    assert (n, lo, hi) == (len(ids), 0, len(ids) - 1)
    reltuples = conn.execute("select reltuples from pg_class where oid = 'fed'::regclass").fetchone()[0]
    assert reltuples == len(ids)  # ANALYZEd: the planner sees the real size of a large id set


def test_federate_returns_rows_and_three_phases(conn):
    ans = federation.federate(lambda: [("p1", 1), ("p2", 2)], conn, ("k1", "idx"),
                              "select f.k1, count(*) from fed f join ts t on t.point_id = f.idx group by 1 order by 1",
                              {})
    assert ans.rows == [("p1", 20), ("p2", 20)]
    assert set(ans.phases) == {"graph", "transfer", "sql"} and all(v >= 0 for v in ans.phases.values())


def _idx_bounds(conn) -> tuple[int, int] | None:
    """(first, last) histogram bound of fed.idx as the planner sees them; None without statistics."""
    row = conn.execute("select histogram_bounds::text::int[] from pg_stats "
                       "where tablename = 'fed' and attname = 'idx'").fetchone()
    return (row[0][0], row[0][-1]) if row and row[0] else None


def test_statistics_describe_the_rows_just_copied_not_the_previous_load(conn):
    """TRUNCATE keeps the previous ANALYZE's column statistics: a small load that is not analyzed is planned
    with another query's histogram (a merge join over the whole index instead of index probes)."""
    federation.transfer(conn, ("idx",), np.arange(0, 10_000, dtype=np.int32))
    assert _idx_bounds(conn) == (0, 9_999)
    small = np.arange(500_000, 500_000 + 100 * 200, 200, dtype=np.int32)  # 100 ids far from the previous ones
    federation.transfer(conn, ("idx",), small)
    assert _idx_bounds(conn) == (500_000, int(small[-1]))
    reltuples = conn.execute("select reltuples from pg_class where oid = 'fed'::regclass").fetchone()[0]
    assert reltuples == len(small)
