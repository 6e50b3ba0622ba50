"""btb's own RSS: the sampler sees this process's allocations, never a child's (the engines, DuckDB's host
and client processes are measured as what they are), and a trial records its peak."""

from __future__ import annotations

import subprocess
import sys
import time

from btb.monitor.own import OwnMemory, rss_bytes

MiB = 2**20


def test_the_peak_holds_an_allocation_of_this_process_made_and_freed_between_two_ends():
    with OwnMemory(period_s=0.02) as m:
        block = bytearray(300 * MiB)  # zero-filled: every page touched
        time.sleep(0.2)
        del block
        time.sleep(0.1)
    assert m.peak_bytes - m.start_bytes >= 280 * MiB
    assert m.end_bytes < m.peak_bytes - 200 * MiB  # freed before the end: only the peak remembers it
    assert set(m.fields()) == {"btb_rss_peak_bytes", "btb_rss_start_bytes", "btb_rss_end_bytes"}


def test_a_childs_memory_is_not_btbs():
    child = "import time; b = bytearray(400 * 2**20); print('ready', flush=True); time.sleep(5)"
    with OwnMemory(period_s=0.02) as m:
        p = subprocess.Popen([sys.executable, "-c", child], stdout=subprocess.PIPE, text=True)
        try:
            assert p.stdout.readline().strip() == "ready"
            time.sleep(0.2)
        finally:
            p.kill()
            p.wait()
    assert m.peak_bytes - m.start_bytes < 100 * MiB and rss_bytes() < m.start_bytes + 100 * MiB


CHURN = """
import sys, threading
from btb.monitor import own
if sys.argv[1] == "off":
    own._LIBC = None  # the collector alone: what glibc keeps stays kept
survivors = []
def churn():  # many blocks (as decoded rows are) in this thread's arena; 1 in 50 outlives the thread, so
    made = [bytes(4000) for _ in range(20_000)]  # the arena cannot shrink from its top: freed, not returned
    survivors.extend(made[::50])
own.give_back()
before = own.rss_bytes()
threads = [threading.Thread(target=churn) for _ in range(8)]
for t in threads: t.start()
for t in threads: t.join()
held = own.rss_bytes()
own.give_back()
print(before, held, own.rss_bytes())
"""


def test_give_back_returns_what_threads_freed_to_the_os():
    """Freed blocks of many threads stay in glibc's arenas (a worker after 16 client threads held 1.9 GB it no
    longer used): give_back hands them back, so the next trial starts from what btb holds, not what it held.
    In a fresh interpreter each, so what this test process allocated before cannot be reused."""
    def run(trim: str) -> tuple[int, int, int]:
        out = subprocess.run([sys.executable, "-c", CHURN, trim], capture_output=True, text=True, check=True)
        return tuple(map(int, out.stdout.split()))

    before, held, after = run("on")
    assert held - before > 150 * MiB, (before, held)  # of 8 × 20k × 4 kB made, what the arenas hold freed
    assert after - before < (held - before) / 3, (before, held, after)  # survivors: 8 × 400 × 4 kB = 12 MiB
    before, held, after = run("off")
    assert after - before > 150 * MiB, (before, held, after)  # without malloc_trim it stays
