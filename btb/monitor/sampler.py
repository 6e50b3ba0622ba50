"""Sample several engines at a fixed rate with low overhead.

One source per target is chosen once (`select_source`), its files stay open, and each tick is a handful
of `pread`s: no subprocess, no per-tick directory walks (except psutil's child listing in the fallback).
Ticks sit on a fixed monotonic grid; a late tick is skipped rather than bunched.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import Any, Callable, Sequence

from btb.monitor.sources import Sample, Source, SourceUnavailable, Target, as_target, select_source


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


class Sampler:
    def __init__(self, targets: Sequence[Any], hz: float = 10.0, reset_peak: bool = True):
        if hz <= 0:
            raise ValueError("hz must be > 0")
        self.period = 1.0 / hz
        self.targets: list[Target] = [as_target(t, f"engine{i}") for i, t in enumerate(targets)]
        self.sources: dict[str, Source] = {}
        self.info: dict[str, SourceInfo] = {}
        for t in self.targets:
            try:
                src = select_source(t, reset_peak=reset_peak)
            except SourceUnavailable as e:
                self.info[t.name] = SourceInfo(t.name, None, [str(e)])
                continue
            self.sources[t.name] = src
            self.info[t.name] = SourceInfo(t.name, src.name, list(getattr(src, "skipped", [])),
                                           dict(getattr(src, "notes", {})), bool(getattr(src, "resettable", False)))
        self.rows: list[SampleRow] = []
        self.ticks = 0
        self.missed_ticks = 0

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
        self.rows.extend(out)
        self.ticks += 1
        return out

    def run(self, stop: Callable[[], bool], max_seconds: float) -> list[SampleRow]:
        """Sample until `stop()` is true or `max_seconds` passed; returns the rows of this run."""
        first = len(self.rows)
        start = time.monotonic()
        deadline = start + max_seconds
        nxt = start
        while True:
            now = time.monotonic()
            if now >= deadline or stop():
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
