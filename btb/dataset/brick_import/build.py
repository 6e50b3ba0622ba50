"""A mapped model -> a dataset directory in btb's standard format (btb.dataset.format).

Series: when the model carries btb's own series chunks for every point (btb's RDF export with
`--series`, O1's layout), the samples are those, byte for byte; otherwise every point gets a series from the
generator's model for its Brick class (btb.dataset.brick_import.pointmodels), produced by the generator's own
pipeline (btb.dataset.series_writer.SeriesPipeline), seeded by `seed`. Bindings are drawn from what the model
holds; a query with no possible binding is recorded `no binding in this model` (bindings.json `_unbound`).

The manifest's fingerprint is the usual content fingerprint (btb.dataset.integrity verifies it); the
import's identity — sha256 of the model file plus the parameters — is `generator.source.fingerprint`,
which campaigns use to reuse an import.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from btb.dataset import fingerprint as fp
from btb.dataset.bindings import BINDINGS_REVISION, START, BindingDraw, iso
from btb.dataset.brick_import.hierarchy import Hierarchy, load_hierarchy
from btb.dataset.brick_import.mapped import Mapped
from btb.dataset.brick_import.mapping import map_model
from btb.dataset.brick_import.parse import ModelData, ModelError, read_model
from btb.dataset.brick_import.pointmodels import meter_specs, spec_for, template_for
from btb.dataset.brick_import.summary import ImportSummary
from btb.dataset.format import BINDINGS, EDGE_SCHEMA, EDGES, FORMAT_VERSION, NODE_SCHEMA, NODES, SERIES_DIR, Manifest
from btb.dataset.profiles import DURATIONS
from btb.dataset.publish import file_info, publishing
from btb.dataset.series import Chunk, START_S, plan_tasks
from btb.dataset.series_writer import DayWriter, SeriesPipeline  # the generator's own writer
from btb.dataset.structure.model import Structure
from btb.dataset.structure.point_params import assign_point_params

IMPORT_REVISION = 2  # 2: bindings revision 2. Bump when the same (model, parameters) would import to different content
NODE_COLUMNS = [f.name for f in NODE_SCHEMA]


@dataclass
class ImportResult:
    path: Path
    manifest: Manifest
    summary: ImportSummary
    series: str  # "model" (the model's own btb chunks) or "synthesized"


def source_fingerprint(model: Path, days: int, seed: int, infer_locations: bool) -> str:
    """sha256 over (model file bytes, parameters): the identity of an import, known before importing."""
    h = hashlib.sha256()
    with open(model, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    params = {"days": days, "seed": seed, "infer_locations": infer_locations, "revision": IMPORT_REVISION,
              "format": FORMAT_VERSION}
    h.update(json.dumps(params, sort_keys=True).encode())
    return h.hexdigest()


def parse_duration(duration: str) -> int:
    if duration not in DURATIONS:
        raise ValueError(f"unknown duration {duration!r}; one of {', '.join(DURATIONS)}")
    return DURATIONS[duration]


def import_model(model: Path | str, out: Path | str, *, duration: str | None = "1w", seed: int = 0,
                 name: str | None = None, threads: int | None = None, infer_locations: bool = True,
                 hierarchy: Hierarchy | None = None) -> ImportResult:
    """Import a Brick model file into dataset directory `out` (replaced atomically)."""
    model, out = Path(model), Path(out)
    t0 = time.perf_counter()
    data = read_model(model)
    h = hierarchy or load_hierarchy()
    name = name or model.stem
    mapped = map_model(data, h, model_name=name, infer_locations=infer_locations)
    points = mapped.of("Point")
    if not points:
        raise ModelError(f"{model}: no point in the model after mapping (nothing to give a series to)")
    chunked = bool(data.chunks) and all("point_idx" in p for p in points)
    if chunked:
        days, day0 = _chunk_days(data, model)
        if duration is not None and DURATIONS.get(duration) not in (None, days):
            raise ModelError(f"{model}: the model carries {days} day(s) of series; --duration {duration} differs "
                             "(omit it to keep the model's series)")
    else:
        days = parse_duration(duration or "1w")
    with publishing(out) as tmp:
        if chunked:
            nodes, parts, door_opens, samples = _from_chunks(mapped, data, tmp, days, day0)
        else:
            nodes, parts, door_opens, samples = _synthesize(mapped, h, tmp, days, seed, threads)
        edges = pa.table([pa.array([e[i] for e in mapped.edges], pa.string()) for i in range(3)], schema=EDGE_SCHEMA)
        pq.write_table(nodes, tmp / NODES, compression="zstd")
        pq.write_table(edges, tmp / EDGES, compression="zstd")
        parts = [(NODES, fp.hash_table(nodes)), (EDGES, fp.hash_table(edges))] + parts
        draw = BindingDraw(nodes, edges, seed, days, allow_missing=True)
        bindings = draw.finalize(tmp, regular=not chunked, door_opens=door_opens)
        (tmp / BINDINGS).write_text(json.dumps(bindings, indent=1, sort_keys=True))
        parts.append((BINDINGS, fp.hash_bindings(bindings)))
        counts = _counts(nodes, mapped.edges)
        counts["samples"] = samples
        files = file_info(tmp)
        manifest = Manifest(
            format_version=FORMAT_VERSION, profile=f"{name}-{duration or f'{days}d'}", seed=seed, start=iso(START),
            end=iso(START + timedelta(days=days)), days=days, counts=counts,
            bytes=sum(f["bytes"] for f in files.values()), fingerprint=fp.combine(parts),
            generator={"seconds": round(time.perf_counter() - t0, 3), "kind": "brick-import",
                       "bindings_revision": BINDINGS_REVISION,
                       "source": {"model": str(model.resolve()), "name": name, "duration": duration, "seed": seed,
                                  "infer_locations": infer_locations, "revision": IMPORT_REVISION,
                                  "fingerprint": source_fingerprint(model, days, seed, infer_locations),
                                  "series": "model" if chunked else "synthesized", "triples": data.triples,
                                  "streamed": data.streamed, "brick_versions": h.versions},
                       "summary": mapped.summary.to_dict(), "unbound": bindings.get("_unbound", {}),
                       "files": files, "parts": {n: d.hex() for n, d in parts}},
        )
        manifest.write(tmp)
    return ImportResult(out, manifest, mapped.summary, "model" if chunked else "synthesized")


def _counts(nodes: pa.Table, edges: list[tuple[str, str, str]]) -> dict[str, int]:
    out: dict[str, int] = {}
    for t in nodes.column("type").to_pylist():
        out[t] = out.get(t, 0) + 1
    for _, r, _ in edges:
        out[r] = out.get(r, 0) + 1
    out["nodes"] = nodes.num_rows
    out["edges"] = len(edges)
    out["points"] = out.get("Point", 0)
    return out


def _table(rows: list[dict]) -> pa.Table:
    cols = {c: [r.get(c) for r in rows] for c in NODE_COLUMNS}
    return pa.table({c: pa.array(cols[c], type=NODE_SCHEMA.field(c).type) for c in NODE_COLUMNS}, schema=NODE_SCHEMA)


# --- series from the model's own chunks (btb's RDF export) -------------------------------------------------
def _chunk_days(data: ModelData, model: Path) -> tuple[int, int]:
    all_days = sorted({d for cs in data.chunks.values() for d, _, _ in cs})
    day0 = START_S // 86_400
    if all_days[0] < day0:
        raise ModelError(f"{model}: series chunks start on day {all_days[0]} (epoch days), before btb's span "
                         f"(day {day0}, {iso(START)})")
    return all_days[-1] - day0 + 1, day0


def _from_chunks(m: Mapped, data: ModelData, tmp: Path, days: int, day0: int):
    points = sorted(m.of("Point"), key=lambda p: int(p["point_idx"]))
    idxs = [int(p["point_idx"]) for p in points]
    if idxs != list(range(len(points))):
        raise ModelError(f"{data.path}: btb:point_idx of the points is not 0..{len(points) - 1}")
    rows = [n for n in m.nodes if n["type"] != "Point"] + points
    door = {int(p["point_idx"]) for p in points if p.get("quantity") == "door"}
    by_day: dict[int, list[tuple[int, np.ndarray, np.ndarray]]] = {}
    for idx, cs in data.chunks.items():
        for d, t, v in cs:
            by_day.setdefault(d - day0, []).append((idx, t, v))
    parts, door_opens, samples = [], [], 0
    for d in range(days):
        w = DayWriter(tmp / SERIES_DIR / f"day-{d:04d}.parquet")
        for idx, t, v in sorted(by_day.get(d, []), key=lambda x: x[0]):
            w.add(Chunk(np.full(len(t), idx, np.int32), np.ascontiguousarray(t, np.int64),
                        np.ascontiguousarray(v, np.float64)))
            samples += len(t)
            if idx in door:
                opened = v == 1.0
                door_opens.append((np.full(int(opened.sum()), idx, np.int32), t[opened].astype(np.int64)))
        parts.append((f"{SERIES_DIR}/day-{d:04d}.parquet", w.close()))
    return _table(rows), parts, door_opens, samples


# --- synthesized series -----------------------------------------------------------------------------------
def _synthesize(m: Mapped, h: Hierarchy, tmp: Path, days: int, seed: int, threads: int | None):
    points = m.of("Point")
    by_id = {p["id"]: p for p in points}
    point_equip: dict[str, str] = {}
    for s, r, d in m.edges:
        if r == "HAS_POINT":
            point_equip.setdefault(d, s)
    specs: dict[str, object] = {}
    for p in points:
        specs[p["id"]] = spec_for(template_for(h, m.point_class.get(p["id"], p["brick_class"]), p["point_kind"]), p)
    # meters: per equipment, its energy registers paired with its power point
    st = Structure()
    meter_pairs: dict[str, tuple[str, str | None]] = {}
    equip_points: dict[str, list[str]] = {}
    for pid, eid in point_equip.items():
        equip_points.setdefault(eid, []).append(pid)
    for p in points:
        if specs[p["id"]].model != "meter":
            continue
        eid = point_equip.get(p["id"])
        power = None
        if eid is not None and eid not in meter_pairs:
            power = next((q for q in equip_points.get(eid, ()) if specs[q].model == "ou"
                          and specs[q].quantity == "power"), None)
        e_spec, p_spec = meter_specs(p, by_id[power] if power else None)
        specs[p["id"]] = e_spec
        if power:
            specs[power] = p_spec
        key = eid if power else f"register:{p['id']}"
        meter_pairs[key] = (p["id"], power)
    order_ids = [p["id"] for p in points]
    ci = {pid: i for i, pid in enumerate(order_ids)}
    st.nodes = [n for n in m.nodes if n["type"] != "Point"]
    st.edges = list(m.edges)
    st.point_ids = order_ids
    st.point_specs = [specs[pid] for pid in order_ids]
    st.point_shape = [sp.shape for sp in st.point_specs]
    st.point_scale = [1.0] * len(order_ids)
    for key, (e, pw) in meter_pairs.items():
        st.meter_points[key] = (ci[e], ci[pw] if pw else ci[e])
    for s_, r, d in m.edges:  # a paired meter fed by a paired meter adds its power to the parent's
        if r == "FEEDS" and s_ in meter_pairs and d in meter_pairs and meter_pairs[s_][1] and meter_pairs[d][1]:
            st.meter_parent.setdefault(d, s_)
    # the generator's own per-point parameters (order, jitter, meters)
    assign_point_params(st, np.random.default_rng(np.random.SeedSequence([seed, 0x1B07])))
    assert st.order is not None
    rows = [dict(n) for n in st.nodes]
    for idx, c in enumerate(st.order.tolist()):
        p = dict(by_id[order_ids[c]])
        sp = st.point_specs[c]
        p.update(point_idx=idx, quantity=sp.quantity, unit=sp.unit, interval_s=sp.interval_s,
                 point_kind="meter" if sp.quantity == "energy" and sp.model == "meter" else p.get("point_kind", sp.kind))
        rows.append(p)
    pipe = SeriesPipeline(seed, st.params, plan_tasks(st.params), days, tmp / SERIES_DIR,
                           max(1, threads or min(2, os.cpu_count() or 1)), 0.0, None)
    parts = pipe.run()
    return _table(rows), parts, pipe.door_opens, pipe.samples


def ensure_import(model: Path | str, duration: str, seed: int, root: Path, *, repair: bool = True) -> Path:
    """root/<stem>-<duration>-s<seed>-<source fingerprint[:12]>, imported when absent or damaged.

    Keyed by the source fingerprint (model bytes + parameters), so an edited model file is a new dataset,
    never a stale reuse; reuse is checked on content (btb.dataset.integrity.verify), and a damaged import is
    re-imported (repair=True) or refused with a DatasetError naming the file. Serialised by a lock file.
    """
    import fcntl

    from btb.dataset.format import DatasetError
    from btb.dataset.integrity import verify

    model = Path(model)
    if not model.is_file():
        raise ModelError(f"{model}: no such model file")
    days = parse_duration(duration)
    src = source_fingerprint(model, days, seed, True)
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    target = root / f"{model.stem}-{duration}-s{seed}-{src[:12]}"
    with open(root / f".{target.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if target.exists():
            try:
                m = verify(target)
                if m.generator.get("source", {}).get("fingerprint") == src:
                    return target
            except DatasetError:
                if not repair:
                    raise
        import_model(model, target, duration=duration, seed=seed, name=model.stem)
    return target
