"""scripts/build_timescaledb.sh: refuses a missing source before touching apt, and is idempotent (a second
run on an installed version does nothing). The build itself is exercised by `scripts/setup.sh` (CI)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from btb.infra.engines.postgres.binaries import find_pg_bin
from btb.infra.engines.postgres.timescale import timescale_installed

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "scripts" / "build_timescaledb.sh"
VENDORED = sorted((REPO.parent / "shared" / "vendor").glob("timescaledb-*.tar.gz"))


def test_a_missing_source_is_refused_with_its_name():
    r = subprocess.run([str(SCRIPT), "/nonexistent/timescaledb.tar.gz"], capture_output=True, text=True, timeout=30)
    assert r.returncode == 1 and "source not found: /nonexistent/timescaledb.tar.gz" in r.stderr
    r = subprocess.run([str(SCRIPT)], capture_output=True, text=True, timeout=30)
    assert r.returncode == 2 and "usage" in r.stderr


@pytest.mark.skipif(not VENDORED, reason="no vendored TimescaleDB source beside the repo (../shared/vendor)")
@pytest.mark.skipif(not VENDORED or timescale_installed(find_pg_bin())[0] is None
                    or f"timescaledb-{timescale_installed(find_pg_bin())[0]}-" not in VENDORED[-1].name,
                    reason="the vendored version is not the one installed (the script would build it)")
def test_a_second_run_on_the_installed_version_does_nothing():
    r = subprocess.run([str(SCRIPT), str(VENDORED[-1])], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert "already installed" in r.stdout and "building" not in r.stdout


def _setup_step(cwd: Path, **env: str) -> subprocess.CompletedProcess:
    """scripts/setup.sh's TimescaleDB step alone, under setup's `set -euo pipefail`, in `cwd` (a repo root)."""
    text = (REPO / "scripts" / "setup.sh").read_text()
    step = text[text.index("timescaledb_step() {"):text.index("\n}\n", text.index("timescaledb_step() {")) + 3]
    script = f"set -euo pipefail\n{step}\ntimescaledb_step\necho STEP-DONE\n"
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("BTB_TIMESCALEDB", "PG_MAJOR"))}
    return subprocess.run(["bash", "-c", script], cwd=cwd, capture_output=True, text=True, timeout=60,
                          env={**clean, **env})


def test_setup_skips_cleanly_when_no_source_is_beside_the_repo(tmp_path):
    """A clone without ../shared: setup says where it looked and goes on (native partitions); nothing built.
    (PG_MAJOR=99: a PostgreSQL without the extension, so the step looks for a source.)"""
    repo = tmp_path / "clone"
    repo.mkdir()
    r = _setup_step(repo, PG_MAJOR="99")
    assert r.returncode == 0 and "STEP-DONE" in r.stdout, r.stderr
    assert f"no source found (looked for {tmp_path}/shared/vendor/timescaledb-*.tar.gz)" in r.stdout
    assert "native partitions" in r.stdout and "building" not in r.stdout
    r = _setup_step(repo, BTB_TIMESCALEDB="skip")
    assert r.returncode == 0 and "skipped (BTB_TIMESCALEDB=skip)" in r.stdout


def test_setup_finds_the_vendored_source_relative_to_the_repo(tmp_path):
    """The CI layout: a clone with shared/ beside it. Where the extension is missing (PG_MAJOR=99) the step
    calls the build script with ../shared/vendor's tarball (a stand-in script here: nothing is built)."""
    repo, vendor = tmp_path / "clone", tmp_path / "shared" / "vendor"
    (repo / "scripts").mkdir(parents=True)
    vendor.mkdir(parents=True)
    (vendor / "timescaledb-9.9.9-apache.tar.gz").write_text("not a tarball")
    (repo / "scripts" / "build_timescaledb.sh").write_text('#!/bin/sh\necho "would build from $1"\nexit 3\n')
    (repo / "scripts" / "build_timescaledb.sh").chmod(0o755)
    r = _setup_step(repo, PG_MAJOR="99")
    assert r.returncode == 0 and "STEP-DONE" in r.stdout, r.stderr
    assert "would build from ../shared/vendor/timescaledb-9.9.9-apache.tar.gz" in r.stdout
    assert "WARNING: TimescaleDB build failed" in r.stdout  # a failed build is reported, setup goes on
