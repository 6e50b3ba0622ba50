"""Sizes and units in one place: '256MiB' ↔ bytes. Used by campaign files, results and reports."""

from __future__ import annotations

import re

_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(B|KiB|MiB|GiB|TiB|KB|MB|GB|TB)?\s*$", re.I)
_UNITS = {"b": 1, "kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40,
          "kb": 10**3, "mb": 10**6, "gb": 10**9, "tb": 10**12}

MiB = 2**20
GiB = 2**30


def parse_size(value: str | int) -> int:
    """'256MiB' → bytes. Plain integers are bytes."""
    if isinstance(value, int):
        return value
    m = _SIZE.match(str(value))
    if not m:
        raise ValueError(f"{value!r} is not a size; use e.g. 256MiB, 2GiB or 'unlimited'")
    return int(float(m.group(1)) * _UNITS[(m.group(2) or "B").lower()])


def format_size(n: int | None) -> str:
    """bytes → the shortest exact binary unit ('256MiB'); None → 'unlimited'."""
    if n is None:
        return "unlimited"
    for unit, f in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if n >= f and n % f == 0:
            return f"{n // f}{unit}"
    return f"{n}B"
