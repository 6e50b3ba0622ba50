"""Query windows as a building's users ask them: dashboards on the recent hours, reports over history.

Each windowed query has a role (queries/README.md, the "working set" column):
- `recent` (dashboards, real-time views: Q6, Q10, Q11, Q12): a few hours ending near the span's end, with
  a "latest" skew (the end is most often within the last hours), so repeated bindings touch the same
  recent data — the hot set a cache can hold.
- `history` (analytics, reports: Q7, Q8, Q9, Q13): weeks to months of history (7–92 days where the span
  allows; half the span to all of it on spans under two weeks), anywhere in the span — cold data.

Windows are whole hours inside `[START, START + days)`. The draw order of the RNG is part of the dataset's
content: a change here changes bindings.json, so it bumps BINDINGS_REVISION (btb.dataset.bindings).
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import numpy as np

from btb.dataset.series import START_S, working_day

START = datetime.fromtimestamp(START_S, tz=timezone.utc)
RECENT, HISTORY = "recent", "history"
ROLES = {"Q6": RECENT, "Q10": RECENT, "Q11": RECENT, "Q12": RECENT,
         "Q7": HISTORY, "Q8": HISTORY, "Q9": HISTORY, "Q13": HISTORY}
RECENT_HOURS = (2, 24)  # a dashboard's window length, hours
RECENT_LAG_MEAN_H = 3.0  # mean hours between a dashboard window's end and the span's end (exponential)
RECENT_LAG_MAX_H = 24
RECENT_DAYS = 7  # Q10's working day is one of the span's last 7 days (the latest most often)
HISTORY_DAYS = (7, 92)  # a report's window length, days, on spans of two weeks or more


def _recent_lag(rng: np.random.Generator, room_h: int) -> int:
    """Hours from the span's end: exponential (latest skew), at most RECENT_LAG_MAX_H and `room_h`."""
    return int(min(rng.exponential(RECENT_LAG_MEAN_H), RECENT_LAG_MAX_H, max(0, room_h)))


def _history_hours(rng: np.random.Generator, days: int) -> int:
    if days >= 2 * HISTORY_DAYS[0]:
        return 24 * int(rng.integers(HISTORY_DAYS[0], min(days, HISTORY_DAYS[1]) + 1))
    span_h = days * 24
    return int(rng.integers(max(12, span_h // 2), span_h + 1))


def _office_day(rng: np.random.Generator, days: int, role: str, length_h: int) -> int:
    """A working day (Mon–Fri, not a holiday) for a window starting 06–08: for `recent`, one of the last
    RECENT_DAYS days, the latest with weight 1, the one before 1/2, …; for `history`, one from which the
    window fits in the span when there is one."""
    weekdays = [d for d in range(days) if working_day(d)] or [d for d in range(days) if d % 7 < 5] or [0]
    if role == RECENT:
        last = [d for d in weekdays if d >= days - RECENT_DAYS] or weekdays[-1:]
        w = 0.5 ** np.arange(len(last))[::-1]
        return int(rng.choice(last, p=w / w.sum()))
    fits = [d for d in weekdays if d * 24 + 6 + length_h <= days * 24] or weekdays
    return int(rng.choice(fits))


def window(rng: np.random.Generator, days: int, role: str, *, office_hours: bool = False) -> tuple[datetime, datetime]:
    """A `[start, end)` window of `role` (RECENT or HISTORY) inside a span of `days` days.

    `office_hours`: the window starts 06:00–08:00 on a working day and is long enough to cover 08–19."""
    if role not in (RECENT, HISTORY):
        raise ValueError(f"unknown window role {role!r}; expected {RECENT!r} or {HISTORY!r}")
    span_h, span_end = days * 24, START + timedelta(days=days)
    if role == RECENT:
        length_h = min(int(rng.integers(RECENT_HOURS[0], RECENT_HOURS[1] + 1)), span_h)
    else:
        length_h = _history_hours(rng, days)
    if office_hours:
        length_h = max(length_h, 14)
        start = START + timedelta(days=_office_day(rng, days, role, length_h), hours=int(rng.integers(6, 9)))
    elif role == RECENT:
        start = span_end - timedelta(hours=length_h + _recent_lag(rng, span_h - length_h))
    else:
        start = START + timedelta(hours=int(rng.integers(0, span_h - length_h + 1)))
    return start, min(start + timedelta(hours=length_h), span_end)
