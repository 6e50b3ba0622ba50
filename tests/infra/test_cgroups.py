"""The cgroup layer: slots on this machine's real cgroups (no mocks: limits read back, processes start
inside, the kernel enforces the limit, peaks reset, everything is removed again), the `Cgroup` interface
on the real v1 hierarchy, and each implementation (v1, v2) against a crafted tree in a temp dir."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid

import pytest

from btb.cgroups import (CgroupUnavailable, CgroupV1, CgroupV2, LimitOutcome, MemoryStat, Pressure, capabilities,
                         cgroup_at, create_slot, proc_cgroups, v2_mount)
from btb.cgroups import v1 as v1_module
from fake_cgroups import v1_cgroup, v2_cgroup

MiB = 1 << 20
CAPS = capabilities()
needs_limit = pytest.mark.skipif(CAPS["limit_version"] == "none", reason="no writable memory controller here")


@pytest.fixture
def slot_name() -> str:
    return f"btb-test-{os.getpid()}-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def slots():
    made = []
    yield made
    for s in made:
        s.kill()
        s.remove()


def _py(code: str) -> list[str]:
    return [sys.executable, "-c", code]


@needs_limit
def test_limit_is_read_back_and_the_process_starts_inside(slot_name, slots):
    slot = create_slot(slot_name, 64 * MiB)
    slots.append(slot)
    assert slot.version == CAPS["limit_version"]
    assert slot.applied_limit == 64 * MiB
    if CAPS["v1_swap_accounting"] or slot.version == "v2":
        assert slot.swap_limited is True
    out = subprocess.run(slot.wrap(["cat", "/proc/self/cgroup"]), capture_output=True, text=True, check=True).stdout
    mem_line = next(line for line in out.splitlines() if (":memory:" in line) or slot.version == "v2")
    assert mem_line.endswith("/" + slot_name)
    assert slot.memory_dir is not None and slot.memory_dir.name == slot_name
    assert slot.remove()
    assert not any(d.exists() for d in slot.dirs.values())


@needs_limit
def test_no_limit_requested_means_unlimited_not_pretend(slot_name, slots):
    slot = create_slot(slot_name, None)
    slots.append(slot)
    assert slot.applied_limit is None and slot.swap_limited is None
    assert slot.memory_dir is not None and slot.memory_dir.is_dir()


@needs_limit
def test_kernel_enforces_the_limit_with_a_real_oom_kill(slot_name, slots):
    slot = create_slot(slot_name, 64 * MiB)
    slots.append(slot)
    assert slot.oom_kill_count() == 0
    p = subprocess.run(slot.wrap(_py("b = bytearray(200 << 20); b[::4096] = b'x' * len(b[::4096])")),
                       capture_output=True)
    assert p.returncode == -9, p.stderr[-500:]
    assert slot.oom_kill_count() == 1


@needs_limit
def test_peak_reset_where_the_kernel_allows_it(slot_name, slots):
    slot = create_slot(slot_name, 256 * MiB)
    slots.append(slot)
    p = subprocess.Popen(slot.wrap(_py(
        "import time; a = bytearray(40 << 20); a[::4096] = b'x' * len(a[::4096]); del a; print('freed', flush=True);"
        " time.sleep(30)")), stdout=subprocess.PIPE, text=True)
    try:
        assert p.stdout.readline().strip() == "freed"
        with slot.cgroup() as cg:
            assert cg.memory_peak() >= 40 * MiB
            if cg.reset_peak():  # v1: reset to the current usage; v2 (Linux >= 6.12): for this handle only
                assert cg.memory_peak() < 40 * MiB
            else:
                assert slot.version == "v2"  # v1 always resets (we own the cgroup)
    finally:
        p.kill()
        p.wait()


@needs_limit
def test_kill_empties_the_slot_so_it_can_be_removed(slot_name, slots):
    slot = create_slot(slot_name, 64 * MiB)
    slots.append(slot)
    p = subprocess.Popen(slot.wrap(["sleep", "60"]))
    time.sleep(0.2)
    assert p.pid in slot.pids()
    assert slot.remove(timeout_s=0.3) is False  # busy while the process lives
    assert slot.kill() >= 1
    assert p.wait(timeout=5) == -9
    assert slot.remove()


def test_v2_backend_reads_cpu_and_never_pretends_a_limit(slot_name, slots):
    own = CgroupV2.own()
    if own is None:
        pytest.skip("no writable cgroup v2 hierarchy here")
    cg = own.create_child(slot_name)
    slots.append(cg)
    d = cg.dirs["unified"]
    outcome = cg.set_memory_limit(64 * MiB)
    if not (d / "memory.max").exists():  # hybrid host: v2 without the memory controller
        assert outcome.applied is None
        assert any("NOT enforced" in n for n in outcome.notes)
    else:
        assert outcome.applied == 64 * MiB
    subprocess.run(cg.wrap(_py("sum(range(3_000_000))")), check=True)
    assert cg.cpu_seconds() > 0.01  # the busy child was charged here, not to our own cgroup


def test_capabilities_match_a_real_attempt(slot_name, slots):
    slot = create_slot(slot_name, 128 * MiB)
    slots.append(slot)
    assert slot.version == CAPS["limit_version"]
    assert (slot.applied_limit is None) == (slot.version == "none")
    # our own v2 cgroup, where there is one, is the dir /proc/self/cgroup names under the v2 mount
    mnt, rel = v2_mount(), proc_cgroups().get("")
    assert CAPS["v2_mount"] == (str(mnt) if mnt else None)
    own = CgroupV2.own_dirs()
    if mnt is not None and rel is not None and os.access(mnt / rel.lstrip("/"), os.W_OK):
        assert own == {"unified": mnt / rel.lstrip("/")}
        assert set(CAPS["v2_controllers"]) == set((own["unified"] / "cgroup.controllers").read_text().split())
    else:
        assert own == {}


# --- the interface on the real v1 hierarchy -----------------------------------------------------------
V1_OWN = CgroupV1.own()
ALLOC_40_SPIN_FREE = ("import time; a = bytearray(40 << 20); a[::4096] = b'x' * len(a[::4096]); t = time.time()\n"
                      "while time.time() - t < 0.3: pass\ndel a; print('freed', flush=True); time.sleep(30)")


@pytest.mark.skipif(V1_OWN is None or not V1_OWN.can_limit_memory(),
                    reason="no writable cgroup v1 memory controller here (pure v2 host, or an unprivileged container)")
def test_v1_interface_makes_limits_measures_moves_and_removes_a_real_cgroup(slot_name, slots):
    cg = V1_OWN.create_child(slot_name)
    slots.append(cg)
    assert {"memory", "cpuacct", "blkio"} <= set(cg.dirs) and all(d.name == slot_name for d in cg.dirs.values())
    outcome = cg.set_memory_limit(128 * MiB)
    assert outcome.applied == 128 * MiB == cg.memory_limit()
    assert outcome.swap_limited is CAPS["v1_swap_accounting"]
    p = subprocess.Popen(cg.wrap(_py(ALLOC_40_SPIN_FREE)), stdout=subprocess.PIPE, text=True)
    mover = subprocess.Popen(["sleep", "30"])
    try:
        assert p.stdout.readline().strip() == "freed"
        assert cg.memory_peak() >= 40 * MiB > cg.memory_current()
        st = cg.memory_stat()
        assert st is not None and st.anon is not None and st.file is not None
        assert cg.cpu_seconds() > 0.1 and cg.io_bytes() is not None and cg.oom_kills() == 0
        assert cg.reset_peak() and cg.memory_peak() < 40 * MiB  # reset to the current usage
        if "unified" in cg.dirs and CAPS["v2_pressure"]:
            assert cg.pressure().memory_some is not None
        assert cg.add_pid(mover.pid)  # moved in while running
        assert proc_cgroups(mover.pid)["memory"].endswith("/" + slot_name)
        assert set(cg.pids()) == {p.pid, mover.pid}
        assert cg.kill() == 2 and mover.wait(timeout=5) == -9 and p.wait(timeout=5) == -9
        assert cg.remove() and not any(d.exists() for d in cg.dirs.values())
    finally:
        for proc in (p, mover):
            proc.kill()
            proc.wait()


# --- each implementation against a crafted tree ---------------------------------------------------------
def test_v2_reads_every_counter_from_its_files(tmp_path):
    with CgroupV2.at(v2_cgroup(tmp_path / "eng")) as cg:
        assert (cg.memory_current(), cg.memory_peak(), cg.memory_limit()) == (1000000, 3000000, None)  # "max"
        assert cg.memory_stat() == MemoryStat(anon=600000, file=300000, shmem=50000)
        assert cg.oom_kills() == 1 and cg.cpu_seconds() == 2.5 and cg.io_bytes() == (4097, 8194)
        assert cg.pressure() == Pressure(memory_some=111, memory_full=22, cpu_some=33, io_some=44, io_full=5)
        assert cg.gaps() == {}
        assert cg.reset_peak() is True
    assert (tmp_path / "eng" / "memory.peak").read_bytes().startswith(b"reset\n")  # what the kernel is sent


def test_v2_refuses_a_dir_without_the_memory_controller(tmp_path):
    d = v2_cgroup(tmp_path / "nomem", memory=False)
    with pytest.raises(CgroupUnavailable, match="no memory.current .not a v2 cgroup with the memory controller"):
        CgroupV2.at(d)
    assert cgroup_at(d) is None


def test_v2_child_is_delegated_memory_and_limited_with_swap_off(tmp_path):
    parent = v2_cgroup(tmp_path / "own", memory=False)
    v2_cgroup(parent / "trial")  # what the kernel would create on mkdir
    own = CgroupV2({"unified": parent})
    assert own.can_limit_memory()
    assert (parent / "cgroup.subtree_control").read_text() == "+memory"
    cg = own.create_child("trial")
    assert cg.dirs == {"unified": parent / "trial"} and cg.memory_dir == parent / "trial"
    assert cg.set_memory_limit(64 * MiB) == LimitOutcome(64 * MiB, True, ())
    assert (parent / "trial" / "memory.swap.max").read_text() == "0"
    assert cg.memory_limit() == 64 * MiB
    (parent / "cgroup.controllers").write_text("cpu io")
    assert not own.can_limit_memory()


def test_v2_never_pretends_a_limit_where_memory_is_not_delegated(tmp_path):
    cg = CgroupV2({"unified": v2_cgroup(tmp_path / "nomem", memory=False)})
    out = cg.set_memory_limit(64 * MiB)
    assert out.applied is None and out.swap_limited is None and "NOT enforced" in out.notes[0]


def test_v1_reads_hierarchical_totals_and_pressure_from_the_v2_sibling(tmp_path):
    with CgroupV1(v1_cgroup(tmp_path, "eng")) as cg:
        assert (cg.memory_current(), cg.memory_peak(), cg.memory_limit()) == (2000000, 5000000, None)  # 2^63-4096
        assert cg.memory_stat() == MemoryStat(anon=900000, file=700000, shmem=40000)  # total_*, not the own ones
        assert cg.oom_kills() == 3 and cg.cpu_seconds() == 1.5 and cg.io_bytes() == (101, 52)
        assert cg.pressure().memory_some == 111 and cg.pressure().io_full == 5
        assert set(cg.gaps()) == {"io_write"}
        assert cg.reset_peak() is True
    assert (tmp_path / "memory" / "eng" / "memory.max_usage_in_bytes").read_bytes().startswith(b"0")


def test_v1_without_its_own_counters_says_what_is_missing(tmp_path):
    dirs = v1_cgroup(tmp_path, "eng", unified=False, cpuacct=False,
                     **{"memory.stat": "cache 10\nrss 20\nshmem 3\n"})
    with CgroupV1(dirs) as cg:
        assert cg.memory_stat() == MemoryStat(anon=20, file=10, shmem=3)  # no hierarchy: own figures
        assert cg.cpu_seconds() is None and cg.pressure() == Pressure()
        assert set(cg.gaps()) == {"io_write", "cpu"}
    with pytest.raises(CgroupUnavailable, match="no memory.usage_in_bytes .not a v1 memory cgroup"):
        CgroupV1.at(dirs["blkio"])


@pytest.mark.parametrize("current, first", [(256 * MiB, "memory.limit_in_bytes"),
                                            (16 * MiB, "memory.memsw.limit_in_bytes")])
def test_v1_limit_keeps_memsw_at_or_above_the_limit_at_every_step(tmp_path, monkeypatch, current, first):
    dirs = v1_cgroup(tmp_path, "eng", **{"memory.limit_in_bytes": f"{current}\n"})
    written: list[str] = []
    real_write = v1_module.write
    monkeypatch.setattr(v1_module, "write", lambda p, v: written.append(p.name) or real_write(p, v))
    out = CgroupV1(dirs).set_memory_limit(64 * MiB)
    assert written[0] == first and len(written) == 2  # shrinking: limit first; growing: memsw first
    assert out == LimitOutcome(64 * MiB, True, ())


def test_v1_limit_notes_what_it_could_not_do(tmp_path):
    dirs = v1_cgroup(tmp_path, "eng")
    (dirs["memory"] / "memory.memsw.limit_in_bytes").unlink()
    (dirs["memory"] / "memory.limit_in_bytes").unlink()
    (dirs["memory"] / "memory.limit_in_bytes").mkdir()  # exists, but nothing can be written or read back
    out = CgroupV1(dirs).set_memory_limit(64 * MiB)
    assert out.applied is None and out.swap_limited is False
    assert [n.split(":")[0].split(" could")[0] for n in out.notes] == ["memsw accounting off", "memory.limit_in_bytes"]


def test_v1_child_in_every_hierarchy_and_a_note_where_the_pressure_dir_fails(tmp_path):
    own = CgroupV1(v1_cgroup(tmp_path, "own"))
    child = own.create_child("trial")
    assert set(child.dirs) == {"memory", "cpuacct", "blkio", "unified"} and child.notes == []
    assert all(d == own.dirs[k] / "trial" and d.is_dir() for k, d in child.dirs.items())
    (own.dirs["unified"] / "broken").write_text("")  # a file where the v2 child would go
    broken = own.create_child("broken")
    assert "unified" not in broken.dirs and broken.notes == ["v2 child for pressure could not be made"]


def test_processes_are_joined_listed_and_killed_through_the_files(tmp_path):
    dirs = v1_cgroup(tmp_path, "eng")
    cg = CgroupV1(dirs)
    argv = cg.wrap(["true"])
    assert argv[:2] == ["/bin/sh", "-c"] and all(f"{d}/cgroup.procs" in argv[2] for d in dirs.values())
    victim = subprocess.Popen(["sleep", "30"])
    try:
        assert cg.add_pid(victim.pid)
        assert all(d.joinpath("cgroup.procs").read_text() == str(victim.pid) for d in dirs.values())
        assert cg.pids() == [victim.pid]
        assert cg.kill() == 1 and victim.wait(timeout=5) == -9  # no cgroup.kill on v1: one SIGKILL per pid
    finally:
        victim.kill()
        victim.wait()
    (dirs["unified"] / "cgroup.kill").write_text("")
    assert cg.kill() == 1 and (dirs["unified"] / "cgroup.kill").read_text() == "1"  # v2 kills it all at once
    assert cg.remove(timeout_s=0.1) is False  # files inside: not an empty cgroup
