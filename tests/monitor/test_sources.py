"""Each monitor source against real processes and this machine's real cgroups; the cgroup source also on
crafted v1 / v2 trees (the paths this machine cannot take); parsers on real formats."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import psutil
import pytest

from btb.cgroups import CgroupV1, CgroupV2, capabilities, cgroup_of_pids
from btb.cgroups.v1 import parse_blkio
from btb.cgroups.v2 import parse_io_stat
from btb.monitor.sources import CgroupSource, PsutilTreeSource, SourceUnavailable, Target, select_source
from btb.monitor.attribution import window_peak
from btb.monitor.sources.docker_stats import parse_stats
from fake_cgroups import v1_cgroup, v2_cgroup

MiB = 1 << 20
CAPS = capabilities()
EXPECTED = {"v1": "cgroup_v1", "v2": "cgroup_v2", "none": "psutil"}[CAPS["limit_version"]]


def test_cgroup_source_sees_a_real_allocation_below_the_limit(slotted):
    slot, p = slotted(limit_bytes=256 * MiB)
    src = select_source(Target("alloc", str(slot.memory_dir) if slot.memory_dir else None, (p.pid,)))
    try:
        assert src.name == EXPECTED
        proc = psutil.Process(p.pid)
        c1, s1 = sum(proc.cpu_times()[:2]), src.read(time.time())
        time.sleep(1.0)  # the child is busy for 1.5 s
        c2, s2 = sum(proc.cpu_times()[:2]), src.read(time.time())
    finally:
        src.close()
    assert 50 * MiB <= s1.mem_bytes < 256 * MiB
    assert s1.anon_bytes >= 50 * MiB
    assert s1.mem_limit_bytes == slot.applied_limit
    assert s1.oom_kills == 0
    # what the child really got (however loaded the machine is), as the kernel accounts it per process
    got = c2 - c1
    assert got > 0.05, "the busy child got no CPU at all in 1 s"
    assert s2.cpu_s - s1.cpu_s == pytest.approx(got, rel=0.25, abs=0.03)
    if src.name.startswith("cgroup"):
        assert s1.peak_scope == "interval" and s1.mem_peak_bytes >= s1.mem_bytes - MiB
    if CAPS["v2_pressure"]:
        assert s1.psi_mem_some_us is not None and s1.psi_cpu_some_us is not None


def test_pids_alone_resolve_to_the_engines_dedicated_cgroup(slotted):
    slot, p = slotted()
    v2, v1 = cgroup_of_pids((p.pid,))
    assert slot.name in (v1 or v2 or "")
    src = select_source(Target("by-pid", None, (p.pid,)))
    assert src.name == EXPECTED
    src.close()


def test_own_cgroup_is_never_taken_for_an_engines():
    assert cgroup_of_pids((os.getpid(),)) == (None, None)  # would count the monitor itself
    src = select_source(Target("me", None, (os.getpid(),)))
    assert src.name == "psutil"
    assert any(r.startswith("cgroup_v1:") for r in src.skipped)


def test_psutil_sums_the_whole_process_tree():
    code = "import time; a = bytearray(40 << 20); a[::4096] = b'x' * len(a[::4096]); time.sleep(60)"
    shell = subprocess.Popen(["/bin/sh", "-c", f'{sys.executable} -c "{code}" & {sys.executable} -c "{code}" & wait'])
    try:
        src = PsutilTreeSource((shell.pid,), tree_refresh_s=0.0)
        deadline = time.time() + 10
        s = src.read(time.time())
        while (s.mem_bytes or 0) < 80 * MiB and time.time() < deadline:
            time.sleep(0.1)
            s = src.read(time.time())
        assert s.extra["processes"] == 3
        assert s.mem_bytes >= 80 * MiB  # both children, not just the shell
        assert s.peak_scope == "none" and s.cpu_s is not None and s.io_read_bytes is not None
    finally:
        for c in __import__("psutil").Process(shell.pid).children(recursive=True):
            c.kill()
        shell.kill()
        shell.wait()


def test_docker_unavailable_is_reported_and_the_next_source_taken(slotted):
    slot, p = slotted()
    src = select_source(Target("c", None, (p.pid,), container="btb-test-no-such-container"), order=("docker", "psutil"))
    assert src.name == "psutil"
    assert len(src.skipped) == 1 and src.skipped[0].startswith("docker: ")
    src.close()


def test_nothing_to_watch_is_an_explicit_error():
    with pytest.raises(SourceUnavailable, match="no source works"):
        select_source(Target("ghost"))


def test_v2_source_refuses_a_dir_without_memory_files(tmp_path):
    with pytest.raises(SourceUnavailable, match="memory.current"):
        CgroupSource.open(CgroupV2, tmp_path)


def test_parsers_on_kernel_and_docker_formats():
    assert parse_io_stat(b"8:0 rbytes=4096 wbytes=8192 rios=1 wios=2 dbytes=0 dios=0\n"
                         b"259:0 rbytes=1 wbytes=2 rios=1 wios=1 dbytes=0 dios=0\n") == (4097, 8194)
    assert parse_blkio(b"8:0 Read 100\n8:0 Write 50\n8:0 Sync 150\n8:0 Async 0\n8:0 Total 150\n"
                       b"8:16 Read 1\n8:16 Write 2\nTotal 153\n") == (101, 52)
    doc = {"memory_stats": {"usage": 100, "limit": 1000, "stats": {"anon": 60, "file": 30, "shmem": 5}},
           "cpu_stats": {"cpu_usage": {"total_usage": 2_500_000_000}},
           "blkio_stats": {"io_service_bytes_recursive": [{"op": "read", "value": 7}, {"op": "write", "value": 9}]}}
    s = parse_stats(doc, 1.0)
    assert (s.mem_bytes, s.anon_bytes, s.file_bytes, s.shmem_bytes, s.cpu_s, s.io_read_bytes, s.io_write_bytes,
            s.mem_limit_bytes, s.peak_scope) == (100, 60, 30, 5, 2.5, 7, 9, 1000, "none")
    v1doc = {"memory_stats": {"usage": 10, "max_usage": 20, "stats": {"total_rss": 4, "total_cache": 6}},
             "blkio_stats": {"io_service_bytes_recursive": None}}
    s = parse_stats(v1doc, 1.0)
    assert (s.mem_peak_bytes, s.peak_scope, s.anon_bytes, s.file_bytes, s.io_read_bytes) == (20, "cumulative", 4, 6, None)


def test_cgroup_source_maps_a_v2_tree_onto_every_sample_field(tmp_path):
    src = select_source(Target("eng", str(v2_cgroup(tmp_path / "eng"))), reset_peak=False)
    try:
        s = src.read(1.0)
    finally:
        src.close()
    assert src.name == "cgroup_v2" and src.skipped == [] and src.notes == {} and src.resettable is False
    assert (s.source, s.mem_bytes, s.mem_peak_bytes, s.peak_scope, s.mem_limit_bytes) == (
        "cgroup_v2", 1000000, 3000000, "cumulative", None)
    assert (s.anon_bytes, s.file_bytes, s.shmem_bytes, s.oom_kills, s.cpu_s, s.io_read_bytes, s.io_write_bytes) == (
        600000, 300000, 50000, 1, 2.5, 4097, 8194)
    assert (s.psi_mem_some_us, s.psi_mem_full_us, s.psi_cpu_some_us, s.psi_io_some_us, s.psi_io_full_us) == (
        111, 22, 33, 44, 5)


def test_cgroup_source_on_a_v1_tree_resets_the_peak_after_each_read_and_says_what_v1_lacks(tmp_path):
    dirs = v1_cgroup(tmp_path, "eng", **{"memory.limit_in_bytes": "268435456\n"})
    src = CgroupSource(CgroupV1(dirs), reset_peak=True)
    try:
        s = src.read(1.0)
    finally:
        src.close()
    assert src.name == "cgroup_v1" and src.resettable is True and set(src.notes) == {"io_write"}
    assert (s.mem_bytes, s.mem_limit_bytes, s.peak_scope, s.anon_bytes, s.file_bytes, s.shmem_bytes) == (
        2000000, 256 << 20, "interval", 900000, 700000, 40000)
    assert (s.oom_kills, s.cpu_s, s.io_read_bytes, s.io_write_bytes, s.psi_mem_some_us) == (3, 1.5, 101, 52, 111)


def test_a_peak_that_cannot_be_reset_stays_cumulative_and_windows_fall_back_to_the_samples(tmp_path):
    cg = CgroupV2.at(v2_cgroup(tmp_path / "eng"))
    cg.reset_peak = lambda: False  # as on Linux < 6.12, where memory.peak refuses "reset"
    src = CgroupSource(cg, reset_peak=True)
    try:
        samples = [src.read(float(t)) for t in range(4)]
    finally:
        src.close()
    assert src.resettable is False and {s.peak_scope for s in samples} == {"cumulative"}
    # the kernel peak did not rise inside the window: the figure is the max of our samples, and says so
    assert window_peak(samples, 0.5, 2.5) == (1000000, "samples")
