"""Attribution of samples to phase windows: synthetic samples, exact expected figures."""

from __future__ import annotations

import pytest

from btb.monitor.attribution import attribute, combine_targets, idle_baseline, window_peak
from btb.monitor.sources.base import Sample

MiB = 1 << 20


def series(scope="interval"):
    """10 Hz from t=100.0 to 110.0: idle 100 MiB until 102, phase A at 300 MiB with a 500 MiB spike
    between two samples (only the kernel's interval peak sees it), 150 MiB in between, phase B 200 MiB
    with an OOM kill; CPU grows 0.05 s per sample, reads 1 MiB per sample inside A only."""
    out, cpu, rd, oom, cum_peak = [], 0.0, 0, 0, 0
    for i in range(101):
        t = 100.0 + i / 10
        mem = 100 * MiB
        if 102.0 <= t <= 104.0:
            mem = 300 * MiB
            rd += MiB
        elif 104.0 < t < 105.0:
            mem = 150 * MiB
        elif 105.0 <= t <= 107.0:
            mem = 200 * MiB
        if abs(t - 106.0) < 1e-9:
            oom += 1
        peak = 500 * MiB if abs(t - 103.0) < 1e-9 else mem
        cum_peak = max(cum_peak, peak)
        cpu += 0.05
        out.append(Sample(t=t, source="cgroup_v1", mem_bytes=mem,
                          mem_peak_bytes={"interval": peak, "cumulative": cum_peak, "none": None}[scope],
                          peak_scope=scope, anon_bytes=mem // 2, shmem_bytes=10 * MiB, cpu_s=cpu,
                          io_read_bytes=rd, io_write_bytes=0, oom_kills=oom))
    return out


PHASES = [("A", 102.0, 104.0), ("B", 105.0, 107.0)]


def by_phase(stats):
    return {s.phase: s for s in stats}


def test_interval_peaks_catch_the_spike_between_samples_and_phases_get_their_own_figures():
    st = by_phase(attribute([("pg", s) for s in series("interval")], PHASES))
    a, b = st["A"], st["B"]
    assert a.n_samples == 21 and b.n_samples == 21  # both ends inclusive at 10 Hz
    assert a.peak_bytes == 500 * MiB and a.peak_from == "kernel-interval"
    assert a.baseline_bytes == 100 * MiB and a.peak_over_baseline_bytes == 400 * MiB
    assert a.mean_bytes == pytest.approx(300 * MiB)
    assert b.peak_bytes == 200 * MiB and b.peak_over_baseline_bytes == 100 * MiB
    assert a.peak_anon_bytes == 150 * MiB and a.peak_shmem_bytes == 10 * MiB
    # counters: last sample at/before start to first at/after end = 20 intervals of 0.05 s
    assert a.cpu_s == pytest.approx(1.0) and a.counter_span_s == pytest.approx(2.0)
    assert a.io_read_bytes == 20 * MiB and b.io_read_bytes == 0
    assert a.oom_kills == 0 and b.oom_kills == 1
    assert a.source == "cgroup_v1" and a.target == "pg"


def test_without_kernel_peak_the_max_of_samples_is_used_and_said():
    st = by_phase(attribute([("pg", s) for s in series("none")], PHASES))
    assert st["A"].peak_bytes == 300 * MiB and st["A"].peak_from == "samples"  # the spike is missed, honestly


def test_cumulative_peak_counts_only_when_it_rose_inside_the_window():
    st = by_phase(attribute([("pg", s) for s in series("cumulative")], PHASES))
    assert st["A"].peak_bytes == 500 * MiB and st["A"].peak_from == "kernel-cumulative"
    # in B the cumulative peak (500 from A) did not rise: it says nothing about B
    assert st["B"].peak_bytes == 200 * MiB and st["B"].peak_from == "samples"


def test_a_window_shorter_than_the_period_gets_the_enclosing_interval_peak():
    s = series("interval")
    peak, how = window_peak(s, 103.01, 103.04)  # no sample inside; the one at 103.1 covers (103.0, 103.1]
    assert how == "kernel-interval" and peak == 300 * MiB
    (st,) = attribute([("pg", x) for x in s], [("Q1", 103.01, 103.04)])
    assert st.n_samples == 0 and st.mean_bytes is None
    assert st.cpu_s == pytest.approx(0.05)  # one interval 103.0 -> 103.1 covers the window; span says so
    assert st.counter_span_s == pytest.approx(0.1)


def test_counter_going_backwards_is_unknown_not_negative():
    s = [Sample(t=1.0, source="psutil", mem_bytes=10, cpu_s=5.0), Sample(t=2.0, source="psutil", mem_bytes=10, cpu_s=3.0)]
    (st,) = attribute([("x", x) for x in s], [("P", 1.0, 2.0)])
    assert st.cpu_s is None


def test_baseline_needs_samples_before_the_first_phase():
    s = series()
    assert idle_baseline(s, 100.0) is None
    assert idle_baseline(s, 101.0) == 100 * MiB
    (st,) = attribute([("pg", x) for x in s], [("all", 100.0, 110.0)])
    assert st.baseline_bytes is None and st.peak_over_baseline_bytes is None


def test_targets_are_kept_apart_and_can_be_combined_for_the_trial_budget():
    a = [Sample(t=float(i), source="cgroup_v1", mem_bytes=100, cpu_s=float(i)) for i in range(5)]
    b = [Sample(t=float(i), source="psutil", mem_bytes=50 if i != 3 else 400, cpu_s=2.0 * i) for i in range(5)]
    rows = [("pg", x) for x in a] + [("ox", x) for x in b]
    st = {(s.target, s.phase): s for s in attribute(rows, [("q", 1.0, 4.0)])}
    assert st[("pg", "q")].peak_bytes == 100 and st[("ox", "q")].peak_bytes == 400
    combined = combine_targets(rows)
    (tot,) = attribute(combined, [("q", 1.0, 4.0)])
    assert tot.peak_bytes == 500 and tot.peak_from == "samples" and tot.cpu_s == pytest.approx(9.0)
    assert tot.source == "cgroup_v1+psutil"


def test_sampler_rows_are_accepted_directly():
    from btb.monitor.sampler import SampleRow

    rows = [SampleRow("pg", x) for x in series()]
    assert by_phase(attribute(rows, PHASES))["A"].peak_bytes == 500 * MiB
    assert rows[0].as_dict()["target"] == "pg"


def test_combined_ticks_need_every_engine():
    """Two engines of one trial are summed per tick; a tick where one of them was not read is dropped
    (a partial sum would under-report the trial's memory)."""
    from btb.monitor.attribution import combine_targets

    rows = [("pg", Sample(t=1.0, source="cgroup_v1", mem_bytes=100)), ("fk", Sample(t=1.0, source="cgroup_v1", mem_bytes=50)),
            ("pg", Sample(t=2.0, source="cgroup_v1", mem_bytes=120))]
    out = combine_targets(rows)
    assert [(s.t, s.mem_bytes) for _, s in out] == [(1.0, 150)]
