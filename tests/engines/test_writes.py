"""Writes for every paradigm, on real engines: an ingest workload (sample batches per gateway and structure
changes) applied to P1, P1c, P2, F1, F2, O1 and O2 loaded with tiny-1d, then every query × binding — as drawn, and
with the windows stretched over the appended samples — checked against the oracle with the same writes in its
overlay. Plus what each write path must do on its own: new days get their partition (native) or chunk,
a chunk is extended rather than duplicated, a change naming a missing node is refused."""

from __future__ import annotations

import uuid

import numpy as np
import pytest

from btb.dataset.changes import Overlay, RenamePoint, SampleBatch
from btb.dataset.format import Manifest, load_bindings
from btb.engines.base import RunOptions
from btb.engines.registry import scenario_class
from btb.validate import check_after_writes, stretched_bindings
from btb.workload.ingest import IngestGenerator, IngestSpec
from btb.workload.ingest_driver import run_ingest

pytestmark = pytest.mark.integration

SCENARIOS = ("P1", "P1c", "P2", "F1", "F2", "O1", "O2")
# the series table as the provider makes it here (a TimescaleDB hypertable where it is installed), and native
# daily partitions, where new days need new partitions
CASES = [pytest.param((sid, "auto"), id=sid) for sid in SCENARIOS] + [pytest.param(("P1", "off"), id="P1-native")]
SPEC = IngestSpec(speedup=3600.0, batch_interval_s=0.25, metadata_share=0.2, duration_s=2.0, seed=5)


def _start(provider, monkeypatch, cls, timescale: str):
    monkeypatch.setenv("BTB_PG_TIMESCALE", timescale)
    trial = f"test-writes-{cls.id}-{uuid.uuid4().hex[:6]}"
    return trial, provider.start(trial, tuple(cls.engines), None).endpoints


@pytest.fixture(params=CASES)
def loaded(request, provider, tiny_dataset, monkeypatch):
    """(scenario, reader): one scenario ingested on its own trial's engines, and a second instance on the
    same engines (the freshness probe's, as a dashboard's session would be)."""
    sid, timescale = request.param
    cls = scenario_class(sid)
    trial, endpoints = _start(provider, monkeypatch, cls, timescale)
    s, reader = cls(endpoints, RunOptions(timeout_s=30)), cls(endpoints, RunOptions(timeout_s=30))
    try:
        s.ingest(tiny_dataset)
        yield s, reader
    finally:
        s.close()
        reader.close()
        provider.stop(trial)


def _stored_name(s, point: str) -> str:
    """The point's name as the store holds it (no query of Q1–Q13 reads names)."""
    if s.id in ("P1", "P1c"):
        return s.conn().execute("select name from points where id = %s", (point,)).fetchone()[0]
    if s.id == "P2":
        return s.conn().execute("select props->>'name' from nodes where id = %s", (point,)).fetchone()[0]
    if s.id in ("F1", "F2"):
        return s.cypher("MATCH (p:Point {id: $id}) RETURN p.name", {"id": point})[0][0]
    from btb.engines.rdf.export import BTB_NS, node_iri

    return s.sparql(f"SELECT ?n WHERE {{ <{node_iri(point)}> <{BTB_NS}name> ?n }}")[0][0]


def test_writes_then_every_answer_equals_the_updated_oracle(loaded, tiny_dataset):
    s, reader = loaded
    before_chunks = s.counts().get("chunks", 0)
    gen = IngestGenerator(tiny_dataset, SPEC)
    overlay = Overlay()
    run = run_ingest(s, gen.ops(), gen.id_of, duration_s=SPEC.duration_s, overlay=overlay, reader=reader,
                     probe_every=4)
    assert not run.errors, run.errors
    assert run.batches > 20 and run.changes >= 3 and overlay.samples == run.written_samples > 1000
    kinds = {type(c).__name__ for c in overlay.changes}
    assert {"AddEquipment", "MovePoint", "MoveEquipment", "RenamePoint"} <= kinds, kinds
    # freshness was measured, and every probe saw its sample
    assert not run.probe_failures and len(run.freshness_s) >= 3 and all(0 < f < 10 for f in run.freshness_s)
    manifest = Manifest.read(tiny_dataset)
    counts = s.counts()
    assert counts["samples"] == manifest.counts["samples"] + overlay.samples
    if "chunks" in counts:  # F1, O1, P1c: one chunk per (point, day), extended by later batches, never duplicated
        pieces = {(int(i), int(t // 86_400_000_000)) for i, t in zip(*[np.concatenate(a) for a in zip(
            *[(p, t) for p, t, _ in overlay.by_day(0).values()])])}
        assert counts["chunks"] == before_chunks + len(pieces) and len(pieces) < overlay.samples / 5
    rename = next(c for c in reversed(overlay.changes) if isinstance(c, RenamePoint))
    assert _stored_name(s, rename.point) == rename.name
    bindings = load_bindings(tiny_dataset)
    last_us = overlay.last_time_us()
    for b in (bindings, stretched_bindings(bindings, last_us)):
        checks = check_after_writes(s, tiny_dataset, overlay, b)
        bad = [(c.qid, c.binding, c.status, c.message[:300]) for c in checks if c.status != "ok"]
        assert not bad, bad
        assert {c.qid for c in checks} == {f"Q{i}" for i in range(1, 14)}


def test_the_appends_change_the_answers_the_gate_compares(tiny_dataset):
    """The check above could not pass by accident: with the writes in the overlay, stretched series windows and
    the structure queries touched by the changes answer differently from the dataset alone."""
    from btb.validate import expected_answers

    gen = IngestGenerator(tiny_dataset, SPEC)
    overlay = Overlay()
    for op in gen.ops():
        (overlay.add_batch if isinstance(op.op, SampleBatch) else overlay.add_change)(op.op)
    b = stretched_bindings(load_bindings(tiny_dataset), overlay.last_time_us())
    before, after = expected_answers(tiny_dataset, b), expected_answers(tiny_dataset, b, overlay)
    changed = {k[0] for k in before if before[k] != after[k]}
    assert {"Q6", "Q7", "Q8", "Q11", "Q12", "Q13"} <= changed, changed
    assert changed & {"Q3", "Q4", "Q5"}, changed


@pytest.fixture(params=["auto", "off"], ids=["P1", "P1-native"])
def p1(request, provider, tiny_dataset, monkeypatch):
    trial, endpoints = _start(provider, monkeypatch, scenario_class("P1"), request.param)
    s = scenario_class("P1")(endpoints)
    s.ingest(tiny_dataset)
    yield s
    s.close()
    provider.stop(trial)


def test_pg_append_makes_the_new_days_partition_or_chunk(p1, tiny_dataset):
    m = Manifest.read(tiny_dataset)
    end_s = int(np.datetime64(m.start.rstrip("Z"), "s").astype(int)) + 86_400 * m.days
    batch = SampleBatch("gw:test", np.array([0, 0], np.int32),
                        np.array([end_s * 10**6, (end_s + 86_400) * 10**6], np.int64), np.array([1.5, 2.5]))
    p1.prepare_writes()
    written = p1.append(batch)
    assert written.samples == 2
    conn = p1.conn()
    got = conn.execute("select extract(epoch from time)::bigint, value from ts where point_id = 0 and time >= "
                       "to_timestamp(%s) order by 1", (end_s,)).fetchall()
    assert got == [(end_s, 1.5), (end_s + 86_400, 2.5)]
    assert p1._appender.timescale == (p1.endpoints["postgres"].extra["series_backend"] == "timescaledb")
    if not p1._appender.timescale:  # native: one new leaf per new day, with the parent's index
        assert "partition_s" in written.phases
        leaves = {r[0] for r in conn.execute("select relid::text from pg_partition_tree('ts') where isleaf")}
        assert {f"ts_d{m.days:04d}", f"ts_d{m.days + 1:04d}"} <= leaves
        idx = conn.execute("select count(*) from pg_indexes where tablename = %s", (f"ts_d{m.days + 1:04d}",)).fetchone()
        assert idx[0] == 1


def test_a_change_naming_a_missing_node_is_refused(p1):
    with pytest.raises(KeyError, match="point:nope"):
        p1.update_metadata(RenamePoint("point:nope", "x"))
