"""Latency histograms: HdrHistogram (the `hdrhistogram` package) in microseconds, 3 significant digits.

Percentiles of a load step come from one histogram holding every operation of every client; clients,
client processes and repetitions are merged by adding histograms, never by averaging percentiles. A
histogram travels in a record as HdrHistogram's compressed base64 encoding (a few hundred bytes).
"""

from __future__ import annotations

from typing import Iterable

from hdrh.histogram import HdrHistogram

LOWEST_US = 1
HIGHEST_US = 3600 * 10**6  # one hour: any op slower than that is a timeout, not a latency
DIGITS = 3  # values kept within 0.1 %
PERCENTILES = (50.0, 95.0, 99.0, 99.9)


def histogram() -> HdrHistogram:
    return HdrHistogram(LOWEST_US, HIGHEST_US, DIGITS)


def record(h: HdrHistogram, seconds: float) -> None:
    """One latency in seconds (clamped to the histogram's range, so an outlier is kept, not dropped)."""
    h.record_value(min(HIGHEST_US, max(LOWEST_US, int(round(seconds * 1e6)))))


def encode(h: HdrHistogram) -> str:
    e = h.encode()
    return e.decode("ascii") if isinstance(e, bytes) else e


def decode(text: str) -> HdrHistogram:
    return HdrHistogram.decode(text.encode("ascii") if isinstance(text, str) else text)


def merge(parts: Iterable[HdrHistogram | str]) -> HdrHistogram:
    """The sum of histograms (objects or encodings): the distribution of every op they hold."""
    out = histogram()
    for p in parts:
        out.add(decode(p) if isinstance(p, (str, bytes)) else p)
    return out


def summary(h: HdrHistogram) -> dict:
    """n, mean, min, max and the percentiles in seconds; percentiles only where n supports them
    (p99 needs ≥ 100 ops, p99.9 ≥ 1000), else None."""
    n = h.get_total_count()
    out: dict = {"n": n}
    if not n:
        return out | {"mean": None, "min": None, "max": None} | {_name(p): None for p in PERCENTILES}
    out |= {"mean": h.get_mean_value() / 1e6, "min": h.get_min_value() / 1e6, "max": h.get_max_value() / 1e6}
    for p in PERCENTILES:
        out[_name(p)] = h.get_value_at_percentile(p) / 1e6 if n * (1 - p / 100) >= 1 - 1e-9 or p == 50.0 else None
    return out


def _name(p: float) -> str:
    return f"p{p:g}".replace(".", "_")
