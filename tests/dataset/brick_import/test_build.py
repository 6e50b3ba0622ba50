"""Imports end to end: real public models, the messy one, and btb's own RDF export imported back."""

from __future__ import annotations

import json

import pyarrow.parquet as pq
import pytest

from btb.dataset import oracle
from btb.dataset.brick_import import ModelError, import_model
from btb.dataset.brick_import.build import ensure_import
from btb.dataset.format import load_bindings, load_unbound
from btb.dataset.integrity import verify


def test_soda_hall_imports_with_bindings_drawn_from_what_it_holds(models, tmp_path):
    r = import_model(models / "soda_hall.ttl", tmp_path / "soda", duration="1d", seed=1)
    m = verify(tmp_path / "soda")  # the content fingerprint holds, like any generated dataset
    assert m.fingerprint == r.manifest.fingerprint and r.series == "synthesized"
    assert m.counts["Point"] > 900 and m.counts["samples"] > 0
    unbound = load_unbound(tmp_path / "soda")
    # no tenants, meters feeding anything, UPSs or doors in Soda Hall: said so, not drawn as empty answers
    assert set(unbound) == {"Q1", "Q8", "Q9", "Q10", "Q11"}
    assert all(v.startswith("no binding in this model: ") for v in unbound.values())
    b = load_bindings(tmp_path / "soda")
    for q in ("Q2", "Q3", "Q4", "Q6", "Q7", "Q12", "Q13"):
        assert b[q], q
        for params in b[q]:
            assert oracle.answer(tmp_path / "soda", q, params), (q, params)  # non-empty on every binding
    assert all(not b[q] for q in unbound)
    nodes = pq.read_table(tmp_path / "soda" / "nodes.parquet").to_pylist()
    vav = [n for n in nodes if n["equipment_type"] == "VAV"]
    assert len(vav) == 243  # `a brick:VAV` × 243 in the file
    from btb.engines.postgres.relational import LINKS

    types = {n["id"]: n["type"] for n in nodes}
    edges = pq.read_table(tmp_path / "soda" / "edges.parquet").to_pylist()
    assert all((e["rel"], types[e["src"]], types[e["dst"]]) in LINKS for e in edges)


def test_rice_hall_imports_points_located_in_rooms(models, tmp_path):
    r = import_model(models / "rice_hall.ttl", tmp_path / "rice", duration="1d", seed=2)
    assert r.summary.inferred["points attached to a Space moved to its PointGroup"] > 0
    assert r.summary.dropped  # Brick 1.0 tag classes with no relation: counted, not silently lost
    verify(tmp_path / "rice")


def test_import_is_deterministic_for_model_and_parameters(models, tmp_path):
    a = import_model(models / "messy.ttl", tmp_path / "a", duration="1d", seed=5).manifest
    b = import_model(models / "messy.ttl", tmp_path / "b", duration="1d", seed=5).manifest
    c = import_model(models / "messy.ttl", tmp_path / "c", duration="1d", seed=6).manifest
    assert a.fingerprint == b.fingerprint != c.fingerprint
    assert a.generator["source"]["fingerprint"] == b.generator["source"]["fingerprint"] != c.generator["source"]["fingerprint"]


def test_meter_register_integrates_its_power_point(models, tmp_path):
    import numpy as np

    import_model(models / "messy.ttl", tmp_path / "m", duration="1d", seed=5)
    nodes = {n["id"]: n for n in pq.read_table(tmp_path / "m" / "nodes.parquet").to_pylist()}
    e, p = nodes["meter1_kwh"]["point_idx"], nodes["meter1_kw"]["point_idx"]
    t = pq.read_table(tmp_path / "m" / "series" / "day-0000.parquet")
    idx, val = t.column("point_idx").to_numpy(), t.column("value").to_numpy()
    energy, power = val[idx == e], val[idx == p]
    assert nodes["meter1_kwh"]["point_kind"] == "meter" and len(energy) == len(power) == 96
    assert np.allclose(np.diff(energy), power[1:] * 0.25, rtol=1e-9)


def test_round_trip_of_btb_export_gives_the_same_dataset(tmp_path):
    """btb's RDF export (structure + O1 chunks) of tiny-1d imported back: same nodes, edges, samples and
    bindings — the same content fingerprint — so every query has the same answer; checked on the oracle."""
    from btb.dataset.generator import generate
    from btb.engines.rdf.export import write_nt

    orig = tmp_path / "tiny-1d-s4"
    m0 = generate("tiny-1d", 4, orig)
    write_nt(orig, tmp_path / "tiny.nt", series=True)
    r = import_model(tmp_path / "tiny.nt", tmp_path / "back", duration=None, seed=4)
    assert r.series == "model" and r.manifest.generator["source"]["streamed"]
    assert r.manifest.fingerprint == m0.fingerprint
    assert not r.summary.dropped and load_unbound(tmp_path / "back") == {}
    for q, bs in load_bindings(orig).items():
        for params in bs:
            assert oracle.answer(orig, q, params) == oracle.answer(tmp_path / "back", q, params), (q, params)


def test_model_series_span_conflicting_with_duration_is_refused(tmp_path):
    from btb.dataset.generator import generate
    from btb.engines.rdf.export import write_nt

    generate("tiny-1d", 4, tmp_path / "t")
    write_nt(tmp_path / "t", tmp_path / "t.nt", series=True)
    with pytest.raises(ModelError, match="carries 1 day"):
        import_model(tmp_path / "t.nt", tmp_path / "x", duration="1w", seed=4)


def test_ensure_import_reuses_and_reimports_an_edited_model(models, tmp_path):
    model = tmp_path / "m.ttl"
    model.write_bytes((models / "messy.ttl").read_bytes())
    a = ensure_import(model, "1d", 1, tmp_path / "root")
    mtime = (a / "manifest.json").stat().st_mtime_ns
    assert ensure_import(model, "1d", 1, tmp_path / "root") == a
    assert (a / "manifest.json").stat().st_mtime_ns == mtime  # reused, not re-imported
    model.write_text(model.read_text() + "\n<http://example.org/messy#x> a <https://brickschema.org/schema/Brick#AHU> .\n")
    b = ensure_import(model, "1d", 1, tmp_path / "root")
    assert b != a and json.loads((b / "manifest.json").read_text())["counts"]["Equipment"] == \
        json.loads((a / "manifest.json").read_text())["counts"]["Equipment"] + 1


def test_a_clean_model_has_no_q5_binding_rather_than_an_empty_answer(tmp_path):
    """Every equipment located and every point on equipment: Q5 (integrity problems) could only be checked
    on an empty answer, so it is `no binding in this model`, like a model without tenants for Q8."""
    f = tmp_path / "clean.ttl"
    f.write_text("@prefix brick: <https://brickschema.org/schema/Brick#> .\n@prefix ex: <http://e/#> .\n"
                 "ex:b a brick:Building . ex:f a brick:Floor ; brick:isPartOf ex:b .\n"
                 "ex:r a brick:Room ; brick:isPartOf ex:f .\n"
                 "ex:v a brick:VAV ; brick:hasLocation ex:r ; brick:feeds ex:r ; brick:hasPoint ex:t .\n"
                 "ex:t a brick:Zone_Air_Temperature_Sensor .\n")
    import_model(f, tmp_path / "c", duration="1d", seed=1)
    assert "no equipment without location" in load_unbound(tmp_path / "c")["Q5"]
    assert load_bindings(tmp_path / "c")["Q5"] == []
    assert load_bindings(tmp_path / "c")["Q4"]  # its one floor has a zone sensor on located equipment
