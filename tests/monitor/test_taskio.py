"""Task IO accounting (/proc/<pid>/io) as the read counter where blkio counts nothing: a real process that
reads a file evicted from the page cache shows its bytes; one that exits keeps them in the total."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from fake_cgroups import v1_cgroup

from btb.cgroups.v1 import CgroupV1
from btb.monitor.sources.taskio import TaskIo

READER = """
import os, sys
fd = os.open(sys.argv[1], os.O_RDONLY)
os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
n = 0
while (b := os.read(fd, 1 << 20)):
    n += len(b)
print(n, flush=True)
sys.stdin.readline()
"""


def test_reads_of_a_process_are_counted_and_kept_after_it_exits(tmp_path: Path) -> None:
    f = tmp_path / "data.bin"
    f.write_bytes(os.urandom(8 << 20))
    os.sync()
    io = TaskIo()
    p = subprocess.Popen([sys.executable, "-c", READER, str(f)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        base = io.read([p.pid])
        assert int(p.stdout.readline()) == 8 << 20
        during = io.read([p.pid])
    finally:
        p.communicate("\n")
    after = io.read([])  # the process is gone: its bytes stay in the cumulative total
    assert base is not None and during is not None and after == during
    assert during[0] - base[0] >= 7 << 20, (base, during)  # evicted first: fetched from storage
    assert io.read([2**22 + 12345]) == during  # a pid that does not exist adds nothing
    assert TaskIo().read([2**22 + 12345]) is None


def test_blkio_whose_top_counts_nothing_is_not_accounted(tmp_path: Path) -> None:
    """The fake hierarchy has no root file: its top is the cgroup itself, whose counters say yes or no."""
    cg = CgroupV1(v1_cgroup(tmp_path, "eng"))
    assert cg.io_accounted() is True
    (tmp_path / "blkio" / "eng" / "blkio.throttle.io_service_bytes").write_text("Total 0\n")
    assert cg.io_accounted() is False
