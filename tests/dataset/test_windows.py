"""Query windows follow the query's role: dashboards on the recent hours, reports over weeks of history."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from btb.dataset import windows as w
from btb.dataset.format import BINDINGS, MANIFEST, DatasetError
from btb.dataset.generator import ensure_dataset, generate
from btb.dataset.integrity import verify
from btb.dataset.series import working_day


def _dt(s: str) -> datetime:
    return datetime.fromisoformat(s.replace("Z", "+00:00"))


def _rng(seed: int = 3) -> np.random.Generator:
    return np.random.Generator(np.random.PCG64(seed))


@pytest.mark.parametrize("days", [1, 2, 7, 30, 365])
def test_recent_windows_are_hours_ending_near_the_span_end(days: int) -> None:
    rng, end = _rng(days), w.START + timedelta(days=days)
    lags = []
    for _ in range(300):
        s, e = w.window(rng, days, w.RECENT)
        assert w.START <= s < e <= end
        assert timedelta(hours=w.RECENT_HOURS[0]) <= e - s <= timedelta(hours=w.RECENT_HOURS[1])
        lags.append((end - e) / timedelta(hours=1))
    assert max(lags) <= w.RECENT_LAG_MAX_H
    assert np.median(lags) <= 3 and min(lags) == 0  # latest skew: most windows end within the last hours


@pytest.mark.parametrize("days", [30, 183, 365])
def test_history_windows_are_weeks_to_months_anywhere_in_the_span(days: int) -> None:
    rng, end = _rng(days), w.START + timedelta(days=days)
    lengths, starts = [], []
    for _ in range(300):
        s, e = w.window(rng, days, w.HISTORY)
        assert w.START <= s < e <= end
        lengths.append((e - s).days)
        starts.append((s - w.START).days)
    assert min(lengths) >= w.HISTORY_DAYS[0] and max(lengths) <= min(days, w.HISTORY_DAYS[1])
    assert max(lengths) > 3 * w.HISTORY_DAYS[0] if days >= 92 else max(lengths) > 20
    assert min(starts) < days / 4  # history reaches back to the start of the span


def test_office_hours_windows_cover_a_working_day_recent_or_history() -> None:
    rng, days = _rng(), 60
    for role in (w.RECENT, w.HISTORY):
        for _ in range(200):
            s, e = w.window(rng, days, role, office_hours=True)
            day = (s - w.START).days
            assert working_day(day) and 6 <= s.hour <= 8 and e - s >= timedelta(hours=11)
            if role == w.RECENT:
                assert day >= days - w.RECENT_DAYS
    with pytest.raises(ValueError, match="unknown window role"):
        w.window(rng, days, "lukewarm")


def test_stored_bindings_follow_the_roles(tmp_path: Path) -> None:
    d = tmp_path / "tiny-1m-s2"
    m = generate("tiny-1m", 2, d)
    b, end = json.loads((d / BINDINGS).read_text()), _dt(m.end)
    for q, role in w.ROLES.items():
        for x in b[q]:
            e = _dt(x["end"])
            if role == w.RECENT:
                assert end - e <= timedelta(hours=w.RECENT_LAG_MAX_H + 24 * w.RECENT_DAYS * (q == "Q10")), (q, x)
                assert "start" not in x or e - _dt(x["start"]) <= timedelta(hours=24), (q, x)
            else:
                assert e - _dt(x["start"]) >= timedelta(days=w.HISTORY_DAYS[0]) - timedelta(hours=2), (q, x)
    assert m.generator["bindings_revision"] == 2


def test_a_dataset_of_older_bindings_is_refused_and_regenerated(tmp_path: Path) -> None:
    d = ensure_dataset("tiny-1d", 5, tmp_path)
    fresh = verify(d).fingerprint
    raw = json.loads((d / MANIFEST).read_text())
    raw["generator"].pop("bindings_revision")  # as written before windows had roles
    (d / MANIFEST).write_text(json.dumps(raw))
    with pytest.raises(DatasetError, match="bindings of revision 1, this btb draws revision 2"):
        verify(d)
    raw["generator"]["content_revision"] -= 1  # the generator's revision of that time: regenerated, not reused
    (d / MANIFEST).write_text(json.dumps(raw))
    assert verify(ensure_dataset("tiny-1d", 5, tmp_path)).fingerprint == fresh
