"""Sample several engines at a fixed rate with low overhead.

One source per target is chosen once (`select_source`), its files stay open, and each tick is a handful
of `pread`s: no subprocess, no per-tick directory walks (except psutil's child listing in the fallback).
Ticks sit on a fixed monotonic grid; a late tick is skipped rather than bunched.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import Any, Callable, Sequence

from btb.monitor.sources import ORDER, Sample, Source, SourceUnavailable, Target, as_target, select_source


@dataclass(frozen=True)
class SampleRow:
    target: str
    sample: Sample

    def as_dict(self) -> dict[str, Any]:
        return {"target": self.target, **asdict(self.sample)}


@dataclass
class SourceInfo:
    """What a target is measured with and why (goes into every result next to the figures)."""

    target: str
    source: str | None  # None: nothing could measure it
    skipped: list[str] = field(default_factory=list)
    notes: dict[str, str] = field(default_factory=dict)
    peak_resettable: bool = False
    errors: list[str] = field(default_factory=list)


def merge_shared_cgroups(targets: list[Target]) -> list[Target]:
    """Engines sharing one cgroup (a hybrid in one budget slot) are watched once, as "a+b": two sources
    on one cgroup would count it twice and reset each other's kernel peak."""
    out: dict[str, Target] = {}
    for t in targets:
        key = t.cgroup or f"\0{t.name}"
        if key in out:
            o = out[key]
            out[key] = Target(f"{o.name}+{t.name}", o.cgroup, o.pids + t.pids, o.container or t.container)
        else:
            out[key] = t
    return list(out.values())


class Sampler:
    """Watches `targets` (Target or endpoint-like) at `hz`; `run()` blocks, so a monitor runs it in its
    own thread or process. `info[name]` says which source measures each target and what it lacks."""

    def __init__(self, targets: Sequence[Any], hz: float = 10.0, reset_peak: bool = True,
                 order: Sequence[str] = ORDER):
        if hz <= 0:
            raise ValueError("hz must be > 0")
        self.period = 1.0 / hz
        self.targets: list[Target] = merge_shared_cgroups([as_target(t, f"engine{i}") for i, t in enumerate(targets)])
        self.sources: dict[str, Source] = {}
        self.info: dict[str, SourceInfo] = {}
        for t in self.targets:
            try:
                src = select_source(t, reset_peak=reset_peak, order=order)
            except SourceUnavailable as e:
                self.info[t.name] = SourceInfo(t.name, None, [str(e)])
                continue
            self.sources[t.name] = src
            self.info[t.name] = SourceInfo(t.name, src.name, list(src.skipped), dict(src.notes), src.resettable)
        self.rows: list[SampleRow] = []
        self.ticks = 0
        self.missed_ticks = 0
        self._select = (reset_peak, tuple(order))
        self._by_name = {t.name: t for t in self.targets}
        self._reopened: dict[str, float] = {}
        self.reopens = 0

    def sample_once(self) -> list[SampleRow]:
        t = time.time()
        out = []
        for name, src in self.sources.items():
            try:
                out.append(SampleRow(name, src.read(t)))
            except (OSError, ValueError) as e:  # engine gone / cgroup removed: keep sampling the others
                errs = self.info[name].errors
                if len(errs) < 5:
                    errs.append(f"{time.strftime('%H:%M:%S')} {type(e).__name__}: {e}")
                if isinstance(e, OSError):
                    self._reopen(name)
        self.rows.extend(out)
        self.ticks += 1
        return out

    def _reopen(self, name: str) -> None:
        """A cgroup removed and made again at the same path (a container restarted: ENODEV on the open
        files) is opened anew, at most once a second; the source may change and is recorded."""
        now = time.monotonic()
        if now - self._reopened.get(name, 0.0) < 1.0:
            return
        self._reopened[name] = now
        try:
            src = select_source(self._by_name[name], reset_peak=self._select[0], order=self._select[1])
        except SourceUnavailable:
            return
        self.sources[name].close()
        self.sources[name] = src
        self.reopens += 1
        self.info[name].source = src.name
        self.info[name].notes["reopened"] = f"{self.reopens} time(s): its cgroup was made again (engine restarted)"

    def run(self, stop: Callable[[], bool], max_seconds: float) -> list[SampleRow]:
        """Sample until `stop()` is true (then once more, closing the last phase) or `max_seconds` passed;
        returns the rows of this run."""
        first = len(self.rows)
        start = time.monotonic()
        deadline = start + max_seconds
        nxt = start
        while True:
            now = time.monotonic()
            if now >= deadline:
                break
            if stop():
                # closing sample: a phase that ended after the last tick still gets a sample after its end
                self.sample_once()
                break
            if now >= nxt:
                self.sample_once()
                nxt += self.period
                if nxt <= time.monotonic():  # fell behind: skip the missed grid points
                    lag = time.monotonic() - nxt
                    skip = int(lag / self.period) + 1
                    self.missed_ticks += skip
                    nxt += skip * self.period
            time.sleep(min(0.25, max(0.0, min(nxt, deadline) - time.monotonic())))  # short naps: stop() stays responsive
        return self.rows[first:]

    def close(self) -> None:
        for src in self.sources.values():
            src.close()
        self.sources.clear()

    def __enter__(self) -> Sampler:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


__all__ = ["Sampler", "SampleRow", "SourceInfo", "Target"]
