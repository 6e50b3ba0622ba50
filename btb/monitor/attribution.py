"""Attribute monitor samples to phase windows (ingest, each query batch, hybrid phases). Pure functions.

Peaks: a sample with an *interval* kernel peak covers (previous sample, this sample], so a window's peak
is the max over the samples inside it plus the first one after its end (the interval that overlaps the
tail). This can over-cover by up to one sampling period at each edge, never under-cover. With a
*cumulative* kernel peak, the window's peak is known exactly only if the counter rose inside the window;
otherwise, and without any kernel peak, it is the max of the samples (`peak_from == "samples"`), which can
miss spikes shorter than the sampling period.

Counters (CPU, IO, OOM kills, PSI) are deltas between the last sample at/before the window start and the
first sample at/after its end: they cover the window fully, plus up to one period each side
(`counter_span_s` says how long the span really was). A negative delta (psutil: a child exited) is None.
"""

from __future__ import annotations

import statistics
from dataclasses import asdict, dataclass
from typing import Any, Iterable, Literal, Sequence

from btb.monitor.sources.base import Sample

PeakFrom = Literal["kernel-interval", "kernel-cumulative", "samples", "none"]
PhaseWindow = tuple[str, float, float]  # (phase name, t_start, t_end), epoch seconds


@dataclass(frozen=True)
class PhaseStats:
    target: str
    phase: str
    t_start: float
    t_end: float
    n_samples: int  # samples with t inside [t_start, t_end]
    source: str | None
    peak_bytes: int | None
    peak_from: PeakFrom
    baseline_bytes: int | None  # idle memory before the first phase (median of those samples)
    peak_over_baseline_bytes: int | None
    mean_bytes: float | None
    peak_anon_bytes: int | None
    peak_shmem_bytes: int | None
    cpu_s: float | None
    io_read_bytes: int | None
    io_write_bytes: int | None
    oom_kills: int | None
    psi_mem_some_s: float | None
    psi_mem_full_s: float | None
    counter_span_s: float | None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def idle_baseline(samples: Sequence[Sample], before: float) -> int | None:
    """Median memory of the samples taken before `before` (the first phase's start): the engine idle."""
    vals = [s.mem_bytes for s in samples if s.t < before and s.mem_bytes is not None]
    return int(statistics.median(vals)) if vals else None


def _delta(a: Sample | None, b: Sample | None, field: str, scale: float = 1.0) -> float | None:
    if a is None or b is None:
        return None
    va, vb = getattr(a, field), getattr(b, field)
    if va is None or vb is None or vb < va:
        return None
    return (vb - va) * scale


def _max(vals: Iterable[int | None]) -> int | None:
    v = [x for x in vals if x is not None]
    return max(v) if v else None


def window_peak(samples: Sequence[Sample], start: float, end: float) -> tuple[int | None, PeakFrom]:
    """Peak memory of one window from time-sorted samples, and where the figure comes from."""
    inside = [s for s in samples if start <= s.t <= end]
    after = next((s for s in samples if s.t > end), None)
    before = next((s for s in reversed(samples) if s.t < start), None)
    sampled = _max(s.mem_bytes for s in inside)
    kernel: int | None = None
    how: PeakFrom = "samples" if sampled is not None else "none"
    scopes = {s.peak_scope for s in inside + ([after] if after else [])}
    if scopes == {"interval"}:
        covering = inside + ([after] if after else [])
        kernel = _max(s.mem_peak_bytes for s in covering)
        how = "kernel-interval" if kernel is not None else how
    elif scopes == {"cumulative"} and before is not None and before.mem_peak_bytes is not None:
        last = after or (inside[-1] if inside else None)
        if last is not None and last.mem_peak_bytes is not None and last.mem_peak_bytes > before.mem_peak_bytes:
            kernel, how = last.mem_peak_bytes, "kernel-cumulative"  # it rose within (before.t, last.t]
    peak = _max([kernel, sampled])
    return peak, how


def phase_stats(target: str, samples: Sequence[Sample], phase: PhaseWindow, baseline: int | None) -> PhaseStats:
    """Figures of one target in one phase window; `samples` sorted by t."""
    name, start, end = phase
    inside = [s for s in samples if start <= s.t <= end]
    first = next((s for s in reversed(samples) if s.t <= start), inside[0] if inside else None)
    last = next((s for s in samples if s.t >= end), inside[-1] if inside else None)
    peak, how = window_peak(samples, start, end)
    mem = [s.mem_bytes for s in inside if s.mem_bytes is not None]
    oom = _delta(first, last, "oom_kills")
    some = _delta(first, last, "psi_mem_some_us", 1e-6)
    full = _delta(first, last, "psi_mem_full_us", 1e-6)
    src = (inside or ([last] if last else []) or [None])[0]
    return PhaseStats(
        target=target, phase=name, t_start=start, t_end=end, n_samples=len(inside),
        source=src.source if src else None,
        peak_bytes=peak, peak_from=how, baseline_bytes=baseline,
        peak_over_baseline_bytes=peak - baseline if peak is not None and baseline is not None else None,
        mean_bytes=statistics.fmean(mem) if mem else None,
        peak_anon_bytes=_max(s.anon_bytes for s in inside), peak_shmem_bytes=_max(s.shmem_bytes for s in inside),
        cpu_s=_delta(first, last, "cpu_s"),
        io_read_bytes=_int(_delta(first, last, "io_read_bytes")), io_write_bytes=_int(_delta(first, last, "io_write_bytes")),
        oom_kills=_int(oom), psi_mem_some_s=some, psi_mem_full_s=full,
        counter_span_s=(last.t - first.t) if first is not None and last is not None else None,
    )


def _int(v: float | None) -> int | None:
    return int(v) if v is not None else None


def attribute(rows: Iterable[Any], phases: Sequence[PhaseWindow]) -> list[PhaseStats]:
    """Per target × phase figures. `rows`: SampleRow-like objects (`.target`, `.sample`) or (target, Sample)."""
    by_target: dict[str, list[Sample]] = {}
    for r in rows:
        target, sample = (r.target, r.sample) if hasattr(r, "sample") else r
        by_target.setdefault(target, []).append(sample)
    if not phases:
        return []
    first_start = min(p[1] for p in phases)
    out: list[PhaseStats] = []
    for target, samples in by_target.items():
        samples.sort(key=lambda s: s.t)
        base = idle_baseline(samples, first_start)
        out.extend(phase_stats(target, samples, p, base) for p in phases)
    return out


def combine_targets(rows: Iterable[Any], name: str = "trial") -> list[tuple[str, Sample]]:
    """Sum the engines of one trial per tick (the budget covers them together). Sums of per-engine peaks
    would only bound the joint peak, so the combined rows carry no kernel peak (peaks from samples).
    Do not pass two targets that watch the same cgroup (a shared hybrid slot): it would count twice.
    Only ticks where every target was read are kept (a partial sum would under-report)."""
    ticks: dict[float, list[Sample]] = {}
    targets: set[str] = set()
    for r in rows:
        tg, s = (r.target, r.sample) if hasattr(r, "sample") else r
        targets.add(tg)
        ticks.setdefault(s.t, []).append(s)
    # a tick where one engine was not read would sum only part of the trial: leave it out
    ticks = {t: ss for t, ss in ticks.items() if len(ss) == len(targets)}

    def tot(ss: list[Sample], f: str):
        v = [getattr(s, f) for s in ss]
        return None if any(x is None for x in v) else sum(v)

    out = []
    for t in sorted(ticks):
        ss = ticks[t]
        out.append((name, Sample(
            t=t, source="+".join(sorted({s.source for s in ss})), mem_bytes=tot(ss, "mem_bytes"),
            anon_bytes=tot(ss, "anon_bytes"), shmem_bytes=tot(ss, "shmem_bytes"), cpu_s=tot(ss, "cpu_s"),
            io_read_bytes=tot(ss, "io_read_bytes"), io_write_bytes=tot(ss, "io_write_bytes"),
            oom_kills=tot(ss, "oom_kills"))))
    return out
