"""The ingest generator on tiny-1d: deterministic from its seed, continuing each point after the dataset,
at the building's own rates × the speed-up, batched per gateway, with the stated share of structure changes."""

from __future__ import annotations

from collections import Counter, defaultdict

import numpy as np
import pyarrow.parquet as pq
import pytest

from btb.dataset.changes import AddEquipment, SampleBatch
from btb.dataset.format import US_PER_DAY, Manifest, epoch_us, series_files
from btb.workload.ingest import IngestGenerator, IngestSpec

SPEC = IngestSpec(speedup=600.0, batch_interval_s=0.5, metadata_share=0.1, duration_s=6.0, seed=7)


def _ops(ds, spec=SPEC):
    g = IngestGenerator(ds, spec)
    return g, list(g.ops())


def _flat(ops):
    return [(o.at_s, o.op.gateway, o.op.point_idx.tolist(), o.op.time_us.tolist(), o.op.value.tolist())
            if isinstance(o.op, SampleBatch) else (o.at_s, o.op) for o in ops]


def test_same_seed_same_operations_other_seed_others(tiny_dataset):
    a, b = _flat(_ops(tiny_dataset)[1]), _flat(_ops(tiny_dataset)[1])
    assert a == b and len(a) > 50
    other = _flat(_ops(tiny_dataset, IngestSpec(**{**SPEC.__dict__, "seed": 8}))[1])
    assert other != a


def test_samples_continue_after_each_points_stored_ones_in_time_order(tiny_dataset):
    m = Manifest.read(tiny_dataset)
    end_us = epoch_us(m.start) + m.days * US_PER_DAY
    stored = {}
    for f in series_files(tiny_dataset):
        t = pq.read_table(f)
        for p, ts in zip(t.column("point_idx").to_pylist(), t.column("time").cast("int64").to_pylist()):
            stored[p] = max(stored.get(p, 0), ts)
    g, ops = _ops(tiny_dataset)
    seen = defaultdict(list)
    for o in ops:
        if isinstance(o.op, SampleBatch):
            for p, t in zip(o.op.point_idx.tolist(), o.op.time_us.tolist()):
                seen[p].append(t)
    assert len(seen) > 400
    for p, ts in seen.items():
        assert ts == sorted(ts) and len(set(ts)) == len(ts), p
        assert ts[0] >= end_us and ts[0] > stored.get(p, 0), p
    # the building's clock: nothing later than the last batch's simulated time
    last = max(o.at_s for o in ops)
    assert max(t for ts in seen.values() for t in ts) <= g.sim_us(last)


def test_rate_is_the_buildings_own_times_the_speedup(tiny_dataset):
    g, ops = _ops(tiny_dataset, IngestSpec(speedup=1200.0, batch_interval_s=1.0, metadata_share=0.0, duration_s=30.0))
    n = sum(len(o.op) for o in ops)
    offered = g.offered_samples_per_s() * 30.0
    assert abs(n - offered) / offered < 0.05, (n, offered)
    # each sensor reports at its interval, without gaps, up to the last batch of its gateway
    times = defaultdict(list)
    for o in ops:
        for p, t in zip(o.op.point_idx.tolist(), o.op.time_us.tolist()):
            times[p].append(t)
    five_min = [g.graph.idx(p) for p in g.graph.of_type("Point") if g.graph.attrs[p]["interval_s"] == 300
                and g.graph.attrs[p]["point_kind"] == "sensor"]
    assert len(five_min) > 50
    for i in five_min:
        assert set(np.diff(times[i]).tolist()) == {300_000_000}, i
        assert times[i][-1] > g.sim_us(30.0 - 2.0)


def test_batches_are_per_gateway_staggered_in_time(tiny_dataset):
    g, ops = _ops(tiny_dataset)
    members = {gw.name: {p.idx for p in gw.points} for gw in g.gateways}
    batches = [o for o in ops if isinstance(o.op, SampleBatch)]
    assert {b.op.gateway for b in batches} == set(members) and len(members) >= 5
    for b in batches:
        assert set(b.op.point_idx.tolist()) <= members[b.op.gateway]
    at = [o.at_s for o in ops]
    assert at == sorted(at) and at[-1] < SPEC.duration_s
    assert len({b.at_s for b in batches[: len(members)]}) == len(members)  # gateways do not all send at once


def test_metadata_share_and_new_equipment_reports(tiny_dataset):
    spec = IngestSpec(speedup=60.0, batch_interval_s=0.1, metadata_share=0.25, duration_s=20.0, seed=3)
    g, ops = _ops(tiny_dataset, spec)
    changes = [o.op for o in ops if not isinstance(o.op, SampleBatch)]
    assert abs(len(changes) / len(ops) - 0.25) < 0.03, (len(changes), len(ops))
    assert set(Counter(type(c).__name__ for c in changes)) == {"RenamePoint", "MovePoint", "MoveEquipment",
                                                               "AddEquipment"}
    added = [p for c in changes if isinstance(c, AddEquipment) for p in c.points]
    idxs = [p["point_idx"] for p in added]
    assert len(set(idxs)) == len(idxs) and min(idxs) == Manifest.read(tiny_dataset).counts["points"]
    reporting = {p for o in ops if isinstance(o.op, SampleBatch) for p in o.op.point_idx.tolist()}
    assert set(idxs[: len(idxs) // 2]) <= reporting  # the earlier new points have reported since


def test_energy_registers_only_grow(tiny_dataset):
    g, ops = _ops(tiny_dataset)
    meters = {g.graph.idx(p) for p in g.graph.of_type("Point") if g.graph.attrs[p]["quantity"] == "energy"}
    series = defaultdict(list)
    for o in ops:
        if isinstance(o.op, SampleBatch):
            for p, v in zip(o.op.point_idx.tolist(), o.op.value.tolist()):
                if p in meters:
                    series[p].append(v)
    assert series and all(np.all(np.diff(v) >= 0) for v in series.values())


@pytest.mark.parametrize("field,value", [("speedup", 0), ("batch_interval_s", -1), ("metadata_share", 1.0),
                                         ("duration_s", 0)])
def test_a_bad_spec_names_its_field(field, value):
    with pytest.raises(ValueError, match=field):
        IngestSpec(**{field: value})
