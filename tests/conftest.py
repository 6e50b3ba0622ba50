"""Shared fixtures. Services are real: a Redis server, Celery workers and PostgreSQL servers started by
btb's own code (btb.infra), in a throw-away state dir with free loopback ports.

The environment is set at import time, before any btb module reads its settings, so the test process,
the workers it starts and the CLI all agree on one configuration.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

from btb.infra.ports import free_port as _free_port


_STATE = Path(tempfile.mkdtemp(prefix="btb-test-state-"))
_ENGINES = Path(tempfile.mkdtemp(prefix="btb-test-engines-"))
_ENGINES.chmod(0o755)  # engines run as the 'postgres' OS user when tests run as root
os.environ.update(
    BTB_STATE_DIR=str(_STATE),
    BTB_REDIS_PORT=str(_free_port()),
    BTB_FLOWER_PORT=str(_free_port()),
    BTB_PG_PORT=str(_free_port()),
    BTB_NODE=f"testnode-{os.getpid()}",  # two suites on one machine never share cgroup slots or containers
    BTB_RESULTS_DIR=str(_STATE / "results"),
    BTB_ENGINES_DIR=str(_ENGINES),
    BTB_LEASE_TTL_S="6",  # a dead node's trial is re-queued within seconds in tests (30 s by default)
)
(_STATE / "btb.env").write_text("")  # the tests' server config: empty, so a config/btb.env here is not read
os.environ["BTB_CONFIG"] = str(_STATE / "btb.env")
os.environ.pop("BTB_BROKER_URL", None)
os.environ.pop("BTB_REDIS_PASSWORD", None)


@pytest.fixture(scope="session")
def settings():
    from btb.config import get_settings

    return get_settings()


@pytest.fixture(scope="session")
def redis_server(settings):
    """A real redis-server (password, loopback, AOF) started by btb's stack code."""
    from btb.infra import stack

    stack.start_redis(settings)
    yield settings
    stack.stop_redis(settings)


@pytest.fixture(scope="session")
def workers(redis_server):
    """The node's real Celery workers (bench, monitor, aggregator), started as `btb up` does."""
    from btb.infra import stack
    from btb.workflow.app import wait_workers

    s = redis_server
    stack.start_workers(s, s.node)
    silent = wait_workers(s, [w.hostname(s.node) for w in stack.worker_specs(s.node, aggregator=True)])
    assert not silent, f"workers did not answer: {silent}"
    yield s
    stack.stop_pidfiles(s, "worker-*.pid")


@pytest.fixture(scope="session")
def btb_cli():
    """Run the real `btb` CLI in a child process with the test configuration → CompletedProcess."""
    import subprocess
    import sys

    def run(*args: str, timeout: float = 900, check: bool = True) -> subprocess.CompletedProcess:
        r = subprocess.run([sys.executable, "-m", "btb.cli.main", *map(str, args)], capture_output=True, text=True,
                           timeout=timeout, env=os.environ.copy())
        if check:
            assert r.returncode == 0, f"btb {' '.join(map(str, args))} → {r.returncode}\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}"
        return r

    return run


@pytest.fixture(scope="session")
def flower_get():
    """GET a Flower API URL path with the stack's basic-auth credentials → parsed JSON."""
    from btb.infra.stack import flower_api

    return flower_api


@pytest.fixture(scope="session")
def flower(workers):
    """Flower as `btb up` starts it, once it is connected and sees the node's workers."""
    from btb.infra import stack

    s = workers
    stack.start_flower(s)
    hosts = [w.hostname(s.node) for w in stack.worker_specs(s.node, aggregator=True)]
    assert stack.wait_flower(s, hosts, timeout_s=90), "Flower did not list the node's workers within 90 s"
    return s


@pytest.fixture(scope="session")
def tiny_dataset(tmp_path_factory) -> Path:
    """tiny-1d, seed 11, generated once per session (engine, validation and packaging tests)."""
    from btb.dataset.generator import generate

    out = tmp_path_factory.mktemp("tiny-1d")
    generate("tiny-1d", 11, out)
    return out


@pytest.fixture(scope="session")
def datasets_root(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("datasets")


def pytest_sessionfinish(session, exitstatus):
    from btb.infra import stack
    from btb.infra.factory import make_provider

    try:
        from btb.config import get_settings

        s = get_settings()
        stack.stop_pidfiles(s, "*.pid", timeout_s=10)
        p = make_provider(s, s.node)
        for tid in p.trials():
            p.stop(tid)
        stack.stop_redis(s)
    except Exception:  # noqa: BLE001 - best-effort cleanup of a throw-away state dir
        pass
    shutil.rmtree(_STATE, ignore_errors=True)
    shutil.rmtree(_ENGINES, ignore_errors=True)
