"""The schedule: open-loop arrivals fixed in advance (uniform or Poisson, seeded), shared out to clients; the
mix drawn by weight; an operator's dashboard due on its refresh grid, a late refresh skipped and counted."""

from __future__ import annotations

import numpy as np

from btb.workload.schedule import OpenSource, Picker, SessionSource, arrivals, rng_for
from btb.workload.spec import SessionSpec

B = {"Q3": [{"s": 1}, {"s": 2}], "Q6": [{"p": 1}], "Q12": [{"b": 1}], "Q4": [{"f": 1}]}


def test_poisson_arrivals_are_seeded_and_at_the_offered_rate():
    a, b = arrivals(50.0, 200.0, "poisson", 1, 0), arrivals(50.0, 200.0, "poisson", 1, 0)
    assert np.array_equal(a, b) and not np.array_equal(a, arrivals(50.0, 200.0, "poisson", 1, 1))
    assert abs(len(a) / 200.0 - 50.0) < 2.0 and np.all(np.diff(a) > 0) and a[-1] < 200.0
    gaps = np.diff(a)
    assert abs(gaps.std() / gaps.mean() - 1.0) < 0.1  # exponential gaps: coefficient of variation 1
    u = arrivals(4.0, 5.0, "uniform", 1, 0)
    assert list(u) == [i / 4 for i in range(20)]


def test_open_loop_ops_are_shared_out_and_keep_their_intended_times():
    offsets = arrivals(10.0, 1.0, "uniform", 0, 0)
    srcs = [OpenSource(100.0, offsets, Picker({"Q6": 1}, B, rng_for(0, 0, k)), k, 3) for k in range(3)]
    due = sorted(op.intended for s in srcs for op in iter(lambda s=s: s.next(0.0), None))
    assert due == [100.0 + i / 10 for i in range(10)]  # each op once, whichever client runs it


def test_the_mix_follows_its_weights():
    p = Picker({"Q3": 3, "Q6": 1}, B, rng_for(5, 0, 0))
    picks = [p.pick() for _ in range(8000)]
    share = sum(q == "Q3" for q, _, _ in picks) / len(picks)
    assert abs(share - 0.75) < 0.02
    assert {bi for q, bi, _ in picks if q == "Q3"} == {0, 1}  # both bindings drawn


def test_an_operator_refreshes_on_the_grid_and_skips_a_refresh_it_missed():
    spec = SessionSpec(operators=[2], dashboard=["Q12", "Q4"], refresh_s=5.0, interactive=["Q3"], think_s=0.0)
    s = SessionSource(0.0, spec, Picker({"Q12": 1, "Q4": 1, "Q3": 1}, B, rng_for(0, 0, 1)), 1, 2, rng_for(0, 0, 1))
    first = s.next(0.0)
    assert (first.qid, first.intended, first.kind) == ("Q12", 2.5, "refresh")  # operator 1 of 2: staggered half a period
    panel = s.next(2.6)
    assert (panel.qid, panel.intended) == ("Q4", 2.6)  # the next panel is due when the first is drawn
    drill = s.next(2.7)
    assert (drill.qid, drill.kind, drill.intended) == ("Q3", "interactive", 2.7)
    late = s.next(14.0)  # busy until 14 s: the refreshes due at 7.5 and 12.5 — only the latest runs
    assert (late.qid, late.intended) == ("Q12", 12.5) and s.skipped == 1
