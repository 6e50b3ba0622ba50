"""Canonical answer form (queries/README.md) and the tolerant comparison `btb validate` relies on.

Engines return Decimals, numpy scalars, datetimes and floats summed in different orders; one
normalisation here keeps every adapter and the oracle comparable, and one diff format names the first
rows that differ so a mismatch can be debugged from the report alone.
"""

from __future__ import annotations

import math
from datetime import datetime
from decimal import Decimal
from typing import Any, Iterable, Sequence

# Queries whose canonical answer has its own order (README); all others are sorted by the whole tuple.
ORDERED_QUERIES = frozenset({"Q7", "Q9"})


def _norm(v: Any) -> Any:
    """Plain Python scalar: numpy -> item, Decimal -> float, datetime -> epoch seconds, bool -> bool."""
    if hasattr(v, "item") and not isinstance(v, (str, bytes)):
        v = v.item()
    if isinstance(v, Decimal):
        return float(v)
    if isinstance(v, datetime):
        return int(v.timestamp())
    return v


def _key(row: tuple) -> tuple:
    """Sort key that tolerates None (sorted first) next to strings or numbers."""
    return tuple((0, 0) if v is None else (1, v) for v in row)


def canonical(rows: Iterable[Sequence[Any]], ordered: bool = False) -> list[tuple]:
    """Rows as tuples of plain scalars; sorted ascending unless the query defines its own order."""
    out = [tuple(_norm(v) for v in r) for r in rows]
    return out if ordered else sorted(out, key=_key)


def canonical_for(qid: str, rows: Iterable[Sequence[Any]]) -> list[tuple]:
    return canonical(rows, ordered=qid in ORDERED_QUERIES)


def _same_value(a: Any, b: Any, rel: float, abs_: float) -> bool:
    if a is None or b is None:
        return a is None and b is None
    num = (int, float)
    if isinstance(a, num) and isinstance(b, num) and not isinstance(a, bool) and not isinstance(b, bool):
        if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
            return True
        return math.isclose(a, b, rel_tol=rel, abs_tol=abs_)
    return a == b


def same_row(a: tuple, b: tuple, rel: float = 1e-6, abs: float = 1e-6) -> bool:  # noqa: A002 - README name
    return len(a) == len(b) and all(_same_value(x, y, rel, abs) for x, y in zip(a, b))


def same_answer(expected: Sequence[tuple], got: Sequence[tuple], rel: float = 1e-6,
                abs: float = 1e-6, max_lines: int = 5) -> tuple[bool, str]:  # noqa: A002 - README name
    """(equal?, diff). Both in canonical form; the diff names the first differing rows by position."""
    diffs: list[str] = []
    for i, (e, g) in enumerate(zip(expected, got)):
        if not same_row(e, g, rel, abs):
            diffs.append(f"row {i}: expected {e!r}, got {g!r}")
            if len(diffs) >= max_lines:
                break
    if len(expected) != len(got):
        head = f"expected {len(expected)} rows, got {len(got)}"
        extra_e = [r for r in expected if not any(same_row(r, g, rel, abs) for g in got)][:max_lines]
        extra_g = [r for r in got if not any(same_row(r, e, rel, abs) for e in expected)][:max_lines]
        lines = [head]
        lines += [f"missing {r!r}" for r in extra_e]
        lines += [f"unexpected {r!r}" for r in extra_g]
        if not extra_e and not extra_g:
            lines += diffs
        return False, "\n".join(lines)
    if diffs:
        return False, "\n".join(diffs)
    return True, ""


# Ordered queries: (position of the descending float key). Rows whose keys tie within tolerance may come
# in either order, since engines sum floats in different orders and then sort on the last bits.
ORDER_KEY = {"Q7": 1, "Q9": 2}


def _order_holds(qid: str, rows: Sequence[tuple], rel: float, abs_: float) -> bool:
    k = ORDER_KEY[qid]
    for a, b in zip(rows, rows[1:]):
        tie = _same_value(a[k], b[k], rel, abs_)
        if not tie and a[k] < b[k]:
            return False
        if not tie and a[k] > b[k]:
            continue
        if tie and not _same_value(a[k], b[k], 0.0, 0.0):
            continue  # near-tie: either id order is acceptable
        if a[0] > b[0]:
            return False
    return True


def same_answer_for(qid: str, expected: Sequence[tuple], got: Sequence[tuple], rel: float = 1e-6,
                    abs: float = 1e-6) -> tuple[bool, str]:  # noqa: A002 - README name
    """same_answer, except that an ordered query may swap rows whose sort keys tie within tolerance."""
    ok, diff = same_answer(expected, got, rel, abs)
    if ok or qid not in ORDER_KEY:
        return ok, diff
    if same_answer(canonical(expected), canonical(got), rel, abs)[0] and _order_holds(qid, got, rel, abs):
        return True, ""
    return ok, diff
