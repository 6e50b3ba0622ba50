"""How big a dataset will be, without generating it: the structure of (profile, seed) is built in memory
(2 s and ~250 MiB at xlarge), and every point's samples follow from its interval and the span — regular
series exactly (one sample per interval), event series (status, door, alarm) as the expected count of the
generator's own event rules. A dataset already on disk is read from its manifest instead."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from btb.dataset.profiles import parse_profile
from btb.dataset.series import DAY_S, M_ALARM, M_DOOR, M_STATUS, SCHEDULE_H, day_shapes, working_day

FAULT_P = 0.03  # the share of unscheduled status points that log one fault (on, off) a day (btb.dataset.series)


@dataclass(frozen=True)
class Shape:
    """What the estimates scale with: samples, points, days, buildings and tenants of one dataset."""

    key: str
    profile: str
    samples: int
    points: int
    days: int
    buildings: int
    tenants: int
    source: str  # "estimated from the profile" or "manifest of DIR"
    present: Path | None = None  # the dataset's directory when it is already generated
    parquet_bytes: int | None = None  # measured when present

    @property
    def point_days(self) -> int:
        return self.points * self.days


def event_samples(params: dict[str, np.ndarray], days: int) -> float:
    """Expected samples of the event points over `days` days, by the generator's rules: a scheduled status
    point switches on and off once a working day, an unscheduled one logs a fault with p = 0.03 a day; a door
    or alarm point opens (two samples) in a slot pair with probability base + amp × the day's shape."""
    model, interval = params["model"], params["interval"]
    amp, base, shape = params["amp"], params["base"], params["shape"].astype(np.intp)
    work = sum(working_day(d) for d in range(days))
    total = 0.0
    st = model == M_STATUS
    if st.any():
        scheduled = np.isin(shape[st], list(SCHEDULE_H))
        on = (amp[st] > 0) & scheduled
        total += 2.0 * on.sum() * work + 2.0 * FAULT_P * (amp[st] == 0).sum() * days
    for iv in np.unique(interval[np.isin(model, [M_DOOR, M_ALARM])]):
        sel = np.isin(model, [M_DOOR, M_ALARM]) & (interval == iv)
        for is_work, n_days in ((True, work), (False, days - work)):
            if not n_days:
                continue
            day = next(d for d in range(7 * 53) if working_day(d) == is_work)
            shapes = day_shapes(day, int(iv))[:, 0:DAY_S // int(iv):2].astype(np.float64)  # (n_shapes, pairs)
            prob = np.clip(base[sel, None] + amp[sel, None] * shapes[shape[sel]], 0.0, 1.0)
            total += 2.0 * prob.sum() * n_days
    return total


def profile_shape(profile: str, seed: int) -> Shape:
    """The dataset (profile, seed) as it would be generated: samples from its structure's point intervals."""
    from btb.dataset.structure import build_structure

    prof = parse_profile(profile)
    s = build_structure(prof.scale, seed)
    params = s.params
    regular = ~np.isin(params["model"], [M_DOOR, M_STATUS, M_ALARM])
    samples = int((DAY_S // params["interval"][regular]).sum()) * prof.days + round(event_samples(params, prof.days))
    counts = s.counts()
    return Shape(f"{prof.name}-s{seed}", prof.name, samples, s.n_points, prof.days, counts.get("Building", 1),
                 counts.get("Tenant", 1), "estimated from the profile")


def manifest_shape(key: str, directory: Path) -> Shape:
    from btb.dataset.format import Manifest

    m = Manifest.read(directory)
    c = m.counts
    return Shape(key, m.profile, int(c.get("samples", 0)), int(c.get("points", 0)), int(m.days),
                 int(c.get("Building", 1)), int(c.get("Tenant", 1)), f"manifest of {directory}", directory, m.bytes)


def dataset_shape(spec, datasets_dir: Path) -> Shape:
    """A campaign's dataset (btb.campaign.DatasetSpec): its manifest when generated already, else estimated.
    An imported Brick model not imported yet cannot be sized (its points come from the model file)."""
    d = Path(datasets_dir) / spec.key
    if (d / "manifest.json").is_file():
        return manifest_shape(spec.key, d)
    if spec.model is not None:
        raise ValueError(f"dataset {spec.key}: an imported Brick model is sized from its import; run "
                         f"`btb dataset import {spec.model}` first, then plan again")
    return profile_shape(spec.profile, spec.seed)
