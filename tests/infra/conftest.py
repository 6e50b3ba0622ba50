"""A LocalProvider on a throw-away engine root, and a DockerProvider on a real Docker engine with the engine
images built locally (both stop every trial they hold at teardown)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from btbtest import scratch_provider

from btb.infra.local import LocalProvider


@pytest.fixture
def provider():
    yield from scratch_provider(lambda root: LocalProvider(root, "provtest"), "btb-test-prov-")


REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def docker_images():
    """A Docker engine answering and the engine images built (cached after the first build)."""
    from btb.infra.docker.images import MISSING_SOURCE

    r = subprocess.run(["bash", str(REPO / "scripts" / "dockerd.sh")], capture_output=True, text=True, timeout=900)
    if r.returncode != 0:
        pytest.skip(f"no Docker engine answers (scripts/dockerd.sh: {(r.stderr or r.stdout).strip()[-300:]}); "
                    "it installs Debian's docker.io and starts dockerd where it can")
    t0 = time.monotonic()
    b = subprocess.run([sys.executable, "-m", "btb.cli.main", "images", "build"], capture_output=True, text=True,
                       timeout=2400, env=os.environ.copy())
    missing = next((x for x in (b.stdout + b.stderr).splitlines() if MISSING_SOURCE in x), None)
    if b.returncode != 0 and missing:  # a prerequisite this machine lacks: said, with how to get it
        pytest.skip(f"the PostgreSQL image cannot be built here: {missing.strip()[-400:]}")
    assert b.returncode == 0, f"btb images build failed:\n{b.stdout[-4000:]}\n{b.stderr[-2000:]}"
    return {"build_output": b.stdout, "build_s": time.monotonic() - t0}


@pytest.fixture
def dprov(docker_images):
    from btb.infra.docker.provider import DockerProvider

    node = f"dk{uuid.uuid4().hex[:6]}"
    yield from scratch_provider(lambda root: DockerProvider(root, node, ready_timeout_s=90), "btb-test-docker-")
