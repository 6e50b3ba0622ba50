"""The sampler on real processes in real cgroups: rate, several targets, stop, targets vanishing."""

from __future__ import annotations

import subprocess
import threading
import time

import pytest

from btb.cgroups import capabilities
from btb.monitor.sampler import Sampler, Target

MiB = 1 << 20
EXPECTED = {"v1": "cgroup_v1", "v2": "cgroup_v2", "none": "psutil"}[capabilities()["limit_version"]]


def test_several_targets_at_10_hz_each_with_its_recorded_source(slotted):
    (s1, p1), (_, p2) = slotted(), slotted(limit_bytes=128 * MiB)
    plain = subprocess.Popen(["sleep", "30"])  # not in a cgroup of its own: psutil
    try:
        targets = [Target("a", str(s1.memory_dir), (p1.pid,)), Target("b", None, (p2.pid,)),
                   Target("plain", None, (plain.pid,)), Target("ghost", None, (2**22 + 12345,))]
        with Sampler(targets, hz=10.0) as s:
            t0 = time.monotonic()
            rows = s.run(lambda: False, 1.0)
            wall = time.monotonic() - t0
            info = s.info
    finally:
        plain.kill()
        plain.wait()
    assert 0.95 <= wall < 1.3
    per = {n: [r.sample for r in rows if r.target == n] for n in ("a", "b", "plain", "ghost")}
    assert all(9 <= len(per[n]) <= 11 for n in ("a", "b", "plain")), {n: len(v) for n, v in per.items()}
    assert per["ghost"] == [] and info["ghost"].source is None and "no source works" in info["ghost"].skipped[0]
    assert info["a"].source == EXPECTED and info["b"].source == EXPECTED and info["plain"].source == "psutil"
    ts = [x.t for x in per["a"]]
    # on the 100 ms grid: a late tick is skipped, never bunched (gaps are whole periods, give or take the
    # scheduling delay a loaded machine adds to reading the clock)
    gaps = [b - a for a, b in zip(ts, ts[1:])]
    assert all(g > 0.05 and abs(g / 0.1 - round(g / 0.1)) < 0.4 for g in gaps), gaps
    for n, lim in (("a", 256 * MiB), ("b", 128 * MiB)):
        assert all(50 * MiB <= x.mem_bytes < lim for x in per[n])
        assert all(x.source == EXPECTED for x in per[n])


def test_stop_ends_the_run_promptly_and_a_vanished_engine_does_not_stop_the_others(slotted):
    (s1, p1), (s2, p2) = slotted(), slotted()
    with Sampler([Target("a", str(s1.memory_dir), (p1.pid,)), Target("b", str(s2.memory_dir), (p2.pid,))],
                 hz=10.0) as s:
        ev = threading.Event()
        t0, t0_wall = time.monotonic(), time.time()
        threading.Timer(0.5, ev.set).start()
        first = s.run(ev.is_set, 30.0)
        assert time.monotonic() - t0 < 0.8
        last_a = [r.sample.t for r in first if r.target == "a"][-1]
        assert last_a >= t0_wall + 0.5  # the closing sample comes after the stop, not a tick before it
        p1.kill()
        p1.wait()
        s1.remove()  # its cgroup files are gone now
        rows = s.run(lambda: False, 0.5)
    assert {r.target for r in rows} == {"b"} or EXPECTED == "psutil"
    assert len([r for r in rows if r.target == "b"]) >= 4
    assert s.info["a"].errors or EXPECTED == "psutil"


def test_engines_sharing_one_budget_slot_are_watched_once():
    import sys

    from btb.cgroups import create_slot

    if capabilities()["limit_version"] == "none":
        pytest.skip("no writable cgroup memory controller here: engines cannot share a budget slot")
    slot = create_slot(f"btb-test-shared-{time.monotonic_ns()}", 256 * MiB)
    procs = [subprocess.Popen(slot.wrap([sys.executable, "-c", "import time; time.sleep(30)"])) for _ in range(2)]
    try:
        time.sleep(0.3)
        cg = str(slot.memory_dir)
        with Sampler([Target("pg", cg, (procs[0].pid,)), Target("ox", cg, (procs[1].pid,))], hz=10.0) as s:
            rows = s.run(lambda: False, 0.35)
        assert {r.target for r in rows} == {"pg+ox"} and len(rows) in (3, 4, 5)
        assert s.info["pg+ox"].peak_resettable is True  # one reader resets the peak, no tug of war
    finally:
        for p in procs:
            p.kill()
            p.wait()
        slot.remove()
