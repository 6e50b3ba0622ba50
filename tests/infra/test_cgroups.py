"""cgroup slots on this machine's real cgroups (no mocks): limits read back, processes start inside,
the kernel enforces the limit, peaks reset, everything is removed again."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid

import pytest

from btb.cgroups import CgroupV2, capabilities, create_slot, proc_cgroups, v2_mount

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

