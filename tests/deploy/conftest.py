"""Deployment artifacts on a real Docker engine: the images scripts/build_worker_image.sh builds (cached
by source hash) and compose.workers.yml brought up with them. Skipped, with the reason, where no Docker
engine answers (scripts/dockerd.sh starts one)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def docker_answers() -> bool:
    if not shutil.which("docker"):
        return False
    return subprocess.run(["docker", "version", "--format", "{{.Server.Version}}"], capture_output=True,
                          timeout=30).returncode == 0


@pytest.fixture(scope="session")
def compose_bin() -> str:
    exe = shutil.which("docker-compose")
    if not exe:
        pytest.skip("docker-compose not installed (scripts/dockerd.sh installs Debian's)")
    return exe


@pytest.fixture(scope="session")
def worker_images() -> dict[str, str]:
    """btb/worker:<version> and btb/redis:bookworm, built when missing or stale (minutes the first time)."""
    if not docker_answers():
        pytest.skip("no Docker engine answers (scripts/dockerd.sh starts one)")
    r = subprocess.run([str(REPO / "scripts" / "build_worker_image.sh")], capture_output=True, text=True, timeout=3600)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-3000:]
    from btb import __version__

    return {"worker": f"btb/worker:{__version__}", "redis": "btb/redis:bookworm"}
