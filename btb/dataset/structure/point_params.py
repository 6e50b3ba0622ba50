"""Per-point series parameters: point_idx order (grouped by series model and interval, then by daily
shape) and the arrays the series generator reads (levels, noise, bounds, meter tree links, registers).

Shared by the generator and the Brick import, which gives it a structure built from a real model and its
own seeded RNG (so imported points get the generator's jitter, alarm rates and meter registers).
"""

from __future__ import annotations

import numpy as np

from btb.dataset.pointspecs import MODELS
from btb.dataset.structure.model import Structure


def assign_point_params(s: Structure, rng: np.random.Generator) -> None:
    """Assign point_idx grouped by (model, interval) and fill the per-point series parameters."""
    # points share a few hundred template specs: read each attribute once per spec, then index
    uniq: dict[int, int] = {}
    templates: list = []
    spec_of = np.empty(len(s.point_specs), dtype=np.int64)
    for ci, sp in enumerate(s.point_specs):
        k = uniq.get(id(sp))
        if k is None:
            k = uniq[id(sp)] = len(templates)
            templates.append(sp)
        spec_of[ci] = k

    def attr(name: str, dtype) -> np.ndarray:  # per point (creation order)
        return np.array([getattr(sp, name) for sp in templates], dtype=dtype)[spec_of]

    model = np.array([MODELS.index(sp.model) for sp in templates], dtype=np.int64)[spec_of]
    point_shape = np.array(s.point_shape, dtype=np.int64)
    # (model, interval) groups the series tasks; shape inside a group lets a task add levels per run
    key = (model * 100_000 + attr("interval_s", np.int64)) * 10 + point_shape
    s.order = np.argsort(key, kind="stable")
    o = s.order
    f32 = np.float32
    scale = np.array(s.point_scale, dtype=np.float64)[o]
    s.params = {
        "model": model[o].astype(np.int8),
        "interval": attr("interval_s", np.int32)[o],
        "base": attr("base", np.float64)[o] * scale,
        "amp": (attr("amp", np.float64)[o] * scale).astype(f32),
        "sigma": (attr("sigma", np.float64)[o] * scale).astype(f32),
        "lo": attr("lo", f32)[o],
        "hi": attr("hi", f32)[o],
        "shape": point_shape[o].astype(np.int8),
    }
    jitter = attr("jitter", np.float64)[o] * scale
    s.params["base"] = (s.params["base"] + rng.standard_normal(len(o)) * jitter).astype(f32)
    # alarms: each point's rate spread log-uniformly over two decades around the template's rate
    alarm = s.params["model"] == MODELS.index("alarm")
    s.params["base"][alarm] *= (10.0 ** rng.uniform(-1.0, 1.0, int(alarm.sum()))).astype(f32)
    s.params["noise"] = s.params["sigma"].copy()
    # meters: point_idx of each energy point's power point, and of each power point's parent power point
    pos = np.empty(len(o), dtype=np.int64)
    pos[o] = np.arange(len(o))
    mpower = np.full(len(o), -1, np.int32)
    mparent = np.full(len(o), -1, np.int32)
    for m, (eci, pci) in s.meter_points.items():
        mpower[pos[eci]] = pos[pci]
        if m in s.meter_parent:
            mparent[pos[pci]] = pos[s.meter_points[s.meter_parent[m]][1]]
    s.params["mpower"], s.params["mparent"] = mpower, mparent
    # meters start from a realistic cumulative reading (float64 registers)
    init = rng.uniform(1_000, 50_000, len(o)) * np.maximum(s.params["base"], 1.0)
    s.params["init"] = np.where(mpower >= 0, np.round(init, 3), 0.0).astype(np.float64)
