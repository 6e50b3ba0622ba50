"""The oracle's bounded reads and streaming reductions against whole-array recomputations."""

from __future__ import annotations

import math

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from btb.dataset import oracle
from btb.dataset.format import epoch_us, load_bindings, series_files
from btb.dataset.oracle_scan import BATCH_ROWS, ExactSum, Moments, moments_per_point, scan


def test_moments_merged_run_by_run_equal_the_whole_array():
    rng = np.random.default_rng(3)
    v = 21.0 + rng.standard_normal(100_003)
    m = Moments()
    for chunk in np.array_split(v, 37):
        m.add(chunk)
    assert m.n == len(v) and (m.lo, m.hi) == (v.min(), v.max())
    assert m.exact_mean() == math.fsum(v.tolist()) / len(v)
    assert m.stddev() == pytest.approx(float(np.std(v, ddof=1)), rel=1e-12)


def test_exact_sum_does_not_round_until_the_end():
    s = ExactSum()
    for x in [1e16, 1.0, -1e16, 1.0] * 1000:
        s.add(x)
    assert s.value() == 2000.0  # naive left-to-right float addition gives 0.0 here
    assert sum([1e16, 1.0, -1e16, 1.0] * 1000) != 2000.0


def _whole(ds, idxs, lo, hi) -> pa.Table:
    """Every sample of the points in [lo, hi) from whole files, no row-group skipping: the reference."""
    t = pa.concat_tables(pq.read_table(f) for f in series_files(ds))
    t = t.filter(pc.is_in(t["point_idx"], pa.array(sorted(idxs), pa.int32())))
    tm = t["time"].cast("int64")
    return t.filter(pc.and_(pc.greater_equal(tm, lo), pc.less(tm, hi)))


def test_scan_yields_exactly_the_window_of_the_points_in_bounded_batches(tiny2d):
    st = oracle.load_structure(str(tiny2d))
    idxs = list(range(0, 400, 7))
    lo, hi = st.start_us + 5 * 3_600_000_000, st.start_us + 40 * 3_600_000_000  # across the day boundary
    batches = list(scan(tiny2d, st.start_us, st.days, idxs, lo, hi))
    assert batches and all(len(p) <= BATCH_ROWS for p, _, _ in batches)
    got = sorted((int(p), int(t), float(v)) for b in batches for p, t, v in zip(*b))
    ref = _whole(tiny2d, idxs, lo, hi)
    want = sorted(zip(ref["point_idx"].to_pylist(), ref["time"].cast("int64").to_pylist(), ref["value"].to_pylist()))
    assert got == want and len(got) > 1000


def test_q7_cv_and_q12_means_equal_whole_array_reductions(tiny2d):
    st = oracle.load_structure(str(tiny2d))
    p = load_bindings(tiny2d)["Q7"][0]
    lo, hi = epoch_us(p["start"]), epoch_us(p["end"])
    pts = {pt for e in st.building_equipment(p["building"]) for pt in st.zone_air_temp_points(e)}
    ref = _whole(tiny2d, [st.idx(x) for x in pts], lo, hi)
    mom = moments_per_point(scan(tiny2d, st.start_us, st.days, [st.idx(x) for x in pts], lo, hi))
    for pt in pts:
        v = ref.filter(pc.equal(ref["point_idx"], st.idx(pt)))["value"].to_numpy()
        if len(v) >= 2:
            assert mom[st.idx(pt)].stddev() / (mom[st.idx(pt)].exact_mean() + 273.15) == pytest.approx(
                float(v.std(ddof=1) / (v.mean() + 273.15)), rel=1e-10)
    rows = oracle.answer(tiny2d, "Q7", p)
    assert len(rows) == min(20, sum(1 for pt in pts if len(ref.filter(pc.equal(ref["point_idx"], st.idx(pt)))) >= 2))
    q12 = load_bindings(tiny2d)["Q12"][0]
    lo, hi = epoch_us(q12["start"]), epoch_us(q12["end"])
    eq = st.building_equipment(q12["building"])
    for dom in {st.attrs[e].get("domain") for e in eq}:
        idx = [st.idx(pt) for e in eq if st.attrs[e].get("domain") == dom for pt in st.points_of(e, quantity="power")]
        v = _whole(tiny2d, idx, lo, hi)["value"].to_numpy() if idx else np.empty(0)
        got = [r[2] for r in oracle.answer(tiny2d, "Q12", q12) if r[0] == "mean_power" and r[1] == dom]
        assert got == ([pytest.approx(float(v.mean()), rel=1e-12)] if len(v) else [])
