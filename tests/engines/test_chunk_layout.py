"""P1c's series layout on a real PostgreSQL: one ts_chunk row per (point, day) holding exactly the dataset's
samples (times to the second, the doubles P1 stores), loaded streaming per batch without splitting a chunk;
appends that add a day's chunk or extend one (widening real[] to double[] when a value needs it); windows bound
in the chunks' terms. That every query answers like the oracle is in test_validate.py and test_writes.py."""

from __future__ import annotations

from collections import defaultdict

import numpy as np
import pyarrow.parquet as pq
import pytest

from btb.dataset.changes import SampleBatch
from btb.dataset.format import US_PER_DAY, Manifest, epoch_us, series_files
from btb.engines.base import RunOptions
from btb.engines.postgres import chunks
from btb.engines.postgres.chunked import ChunkRelationalScenario, bind_window


def _dataset_chunks(dataset) -> dict[tuple[int, int], tuple[list[int], list[float]]]:
    """(point, day) -> (times µs, values) straight from the Parquet files."""
    out: dict[tuple[int, int], tuple[list[int], list[float]]] = defaultdict(lambda: ([], []))
    for f in series_files(dataset):
        t = pq.read_table(f)
        for p, ts, v in zip(t.column("point_idx").to_pylist(), t.column("time").cast("int64").to_pylist(),
                            t.column("value").to_pylist()):
            out[(p, ts // US_PER_DAY)][0].append(ts)
            out[(p, ts // US_PER_DAY)][1].append(v)
    return dict(out)


def _stored_chunks(conn) -> dict[tuple[int, int], tuple[list[int], list[float], bool]]:
    """(point, day) -> (times µs, values as the queries read them, stored as double[])."""
    rows = conn.execute("select point_id, day, t, coalesce(v8, v::float8[]), v8 is not null from ts_chunk").fetchall()
    return {(p, d): ([d * US_PER_DAY + s * 1_000_000 for s in t], list(v), wide) for p, d, t, v, wide in rows}


@pytest.fixture(scope="module")
def p1c(database, tiny_dataset):
    s = ChunkRelationalScenario({"postgres": database("test_p1c")}, RunOptions(timeout_s=30))
    report = s.ingest(tiny_dataset)
    yield s, report
    s.close()


def test_ingest_report_and_counts_match_the_manifest(p1c, tiny_dataset):
    s, report = p1c
    m = Manifest.read(tiny_dataset)
    counts = s.counts()
    assert counts["nodes"] == m.counts["nodes"] and counts["edges"] == m.counts["edges"]
    assert counts["samples"] == report.rows["samples"] == m.counts["samples"] > 0
    assert counts["chunks"] == counts["ts_chunk"] == report.rows["ts_chunk"] == len(_dataset_chunks(tiny_dataset))
    assert "ts_chunk" in report.backend and report.details["series_layout"].startswith("ts_chunk per (point, day)")
    assert report.bytes_on_disk > report.details["ts_chunk_bytes"] > report.details["ts_chunk_index_bytes"] > 0
    phases = report.details["phases"]
    assert phases["series_copy_s"] > 0 and phases["series_index_s"] > 0
    pk = s.conn().execute("select pg_get_indexdef(indexrelid) from pg_index where indrelid = 'ts_chunk'::regclass "
                          "and indisprimary").fetchone()[0]
    assert "(point_id, day)" in pk


def test_every_chunk_holds_exactly_its_days_samples(p1c, tiny_dataset):
    """Times to the microsecond, values bit-equal to the Parquet's doubles; double[] exactly where a value is
    not a float32 number (the energy registers), real[] everywhere else."""
    s, report = p1c
    want, got = _dataset_chunks(tiny_dataset), _stored_chunks(s.conn())
    assert set(got) == set(want)
    wide = set()
    for key, (ts, vs) in want.items():
        assert got[key][0] == ts, key
        assert got[key][1] == vs, key  # == on floats: exact
        if any(float(np.float32(v)) != v for v in vs):
            wide.add(key)
    assert wide and {k for k, g in got.items() if g[2]} == wide
    assert report.details["chunks_double"] == len(wide) < len(want) / 5


def test_the_loader_never_splits_a_chunk_between_batches():
    """Batches cut anywhere (mid-point, mid-day): each (point, day) lands whole in one group, in order."""
    rng = np.random.default_rng(3)
    n = 5_000
    p = np.sort(rng.integers(0, 40, n)).astype(np.int32)
    t = np.zeros(n, np.int64)
    for i in np.unique(p):  # two days per point, sorted by time within the point
        sel = p == i
        t[sel] = np.sort(rng.integers(0, 2 * 86_400, sel.sum())) * 1_000_000
    v = rng.normal(size=n)
    cuts = np.sort(rng.choice(np.arange(1, n), 60, replace=False))
    batches = [(a, b, c) for a, b, c in zip(np.split(p, cuts), np.split(t, cuts), np.split(v, cuts))]
    groups = list(chunks._whole_chunks(iter(batches)))
    keys = [set(zip(g[0].tolist(), (g[1] // US_PER_DAY).tolist())) for g in groups]
    assert sum(len(g[0]) for g in groups) == n
    assert np.array_equal(np.concatenate([g[1] for g in groups]), t)
    for a in range(len(keys)):
        for b in range(a + 1, len(keys)):
            assert not keys[a] & keys[b], "a (point, day) in two groups"
    assert len(groups) > 20  # the cuts did fall inside chunks: the carry is what the test exercises


def test_a_sub_second_sample_is_refused_by_name():
    with pytest.raises(ValueError, match=r"whole seconds: point 7 has a sample at 1500000 µs"):
        chunks.encode_chunks(np.array([7, 7], np.int32), np.array([1_000_000, 1_500_000], np.int64), np.ones(2))


def test_windows_are_bound_in_the_chunks_terms():
    b = bind_window({"start": "2024-01-02T00:00:00Z", "end": "2024-01-03T00:00:00Z"}, {})
    assert b == {"start_s": 1704153600, "d0": 19724, "end_s": 1704240000, "d1": 19724}  # end exclusive: one day
    frac = bind_window({"start": "2024-01-02T00:00:00.5Z", "end": "2024-01-02T00:00:01.5Z"}, {})
    assert (frac["start_s"], frac["end_s"]) == (1704153601, 1704153602)  # [t0.5, t1.5) holds the sample at t1 only
    assert bind_window({"end": "2024-01-02T00:00:00Z"}, {}) == {"end_s": 1704153600, "d1": 19723}


def _chunk(conn, idx: int, day: int):
    return conn.execute("select t, v, v8 from ts_chunk where point_id = %s and day = %s", (idx, day)).fetchone()


def test_appends_add_a_days_chunk_extend_one_and_widen_it(p1c, tiny_dataset):
    s, _ = p1c
    conn = s.conn()
    m = Manifest.read(tiny_dataset)
    end_us = epoch_us(m.start) + m.days * US_PER_DAY
    day = end_us // US_PER_DAY
    idx = conn.execute("select point_id from ts_chunk where v is not null order by point_id limit 1").fetchone()[0]
    before = s.counts()
    s.prepare_writes()
    w = s.append(SampleBatch("gw:t", np.array([idx, idx], np.int32), np.array([end_us, end_us + 60_000_000]),
                             np.array([1.5, 2.5])))
    assert w.samples == 2 and set(w.phases) == {"pieces_s", "merge_s"}
    assert _chunk(conn, idx, day) == ([0, 60], [1.5, 2.5], None)  # a new day: a new real[] chunk
    s.append(SampleBatch("gw:t", np.array([idx], np.int32), np.array([end_us + 120_000_000]), np.array([3.25])))
    assert _chunk(conn, idx, day) == ([0, 60, 120], [1.5, 2.5, 3.25], None)  # extended, not a second row
    s.append(SampleBatch("gw:t", np.array([idx], np.int32), np.array([end_us + 180_000_000]), np.array([0.1])))
    assert _chunk(conn, idx, day) == ([0, 60, 120, 180], None, [1.5, 2.5, 3.25, 0.1])  # 0.1 is no float32: double[]
    s.append(SampleBatch("gw:t", np.array([idx], np.int32), np.array([end_us + 240_000_000]), np.array([4.0])))
    assert _chunk(conn, idx, day)[2] == [1.5, 2.5, 3.25, 0.1, 4.0]
    after = s.counts()
    assert after["chunks"] == before["chunks"] + 1 and after["samples"] == before["samples"] + 5
    with pytest.raises(ValueError, match="whole seconds"):
        s.append(SampleBatch("gw:t", np.array([idx], np.int32), np.array([end_us + 1]), np.array([1.0])))
    assert s.counts() == after  # nothing of a refused batch is stored
