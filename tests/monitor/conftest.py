"""Real engines for monitor tests: a LocalPostgres in its own cgroup on a free port, scratch data dir."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import pytest

from btb.cgroups import create_slot


def postgres_dir() -> Path:
    """A scratch dir the OS user 'postgres' can reach (we are root; postgres refuses to run as root).

    Not under tmp_path: pytest re-chmods /tmp/pytest-of-root to 0700 whenever any pytest session starts
    (and this machine is shared), which made a started test lose access mid-run. Removed at teardown.
    """
    d = Path(tempfile.mkdtemp(prefix="btb-test-pg-"))
    os.chmod(d, 0o755)
    return d


ALLOC_50 = ("import time; a = bytearray(50 << 20); a[::4096] = b'x' * len(a[::4096]); print('ready', flush=True);"
            " t = time.time()\nwhile time.time() - t < 1.5: pass\ntime.sleep(60)")


@pytest.fixture
def local_pg():
    """Factory: start(limit_bytes) -> (provider, trial_id, Endpoint) of a PostgreSQL trial started by the
    provider production uses (one cgroup slot per trial carrying the budget); all stopped afterwards."""
    from btb.infra.local import LocalProvider

    base = postgres_dir()
    provider = LocalProvider(base, "monitortest")
    if not provider.can_run(("postgres",)):
        pytest.fail(f"PostgreSQL is part of this machine's setup: {provider.capabilities()['postgres'].why}")

    def start(limit_bytes: int | None):
        trial = f"monitor-{uuid.uuid4().hex[:8]}"
        started = provider.start(trial, ("postgres",), limit_bytes)
        return provider, trial, started.endpoints["postgres"]

    yield start
    for t in provider.trials():
        provider.stop(t)
    shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def slotted():
    """Factory: run(code, limit) -> (slot, Popen) of a Python process started inside its own cgroup."""
    made = []

    def run(code: str = ALLOC_50, limit_bytes: int | None = 256 << 20):
        """Default code touches 50 MiB, prints 'ready' (awaited here), spins 1.5 s, then sleeps."""
        slot = create_slot(f"btb-test-{os.getpid()}-{uuid.uuid4().hex[:8]}", limit_bytes)
        p = subprocess.Popen(slot.wrap([sys.executable, "-c", code]), stdout=subprocess.PIPE, text=True)
        made.append((slot, p))
        if "'ready'" in code:
            assert p.stdout.readline().strip() == "ready"
            time.sleep(0.05)
        return slot, p

    yield run
    for slot, p in made:
        p.kill()
        p.wait()
        slot.kill()
        slot.remove()

