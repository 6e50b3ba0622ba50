"""scripts/build_timescaledb.sh: refuses a missing source before touching apt, and is idempotent (a second
run on an installed version does nothing). The build itself is exercised by `scripts/setup.sh` (CI)."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
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


FETCH = REPO / "scripts" / "fetch_timescaledb.sh"


def _setup_step(cwd: Path, **env: str) -> subprocess.CompletedProcess:
    """scripts/setup.sh's TimescaleDB step alone, under setup's `set -euo pipefail`, in `cwd` (a repo root)."""
    text = (REPO / "scripts" / "setup.sh").read_text()
    step = text[text.index("timescaledb_step() {"):text.index("\n}\n", text.index("timescaledb_step() {")) + 3]
    script = f"set -euo pipefail\n{step}\ntimescaledb_step\necho STEP-DONE\n"
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("BTB_TIMESCALEDB", "PG_MAJOR"))}
    return subprocess.run(["bash", "-c", script], cwd=cwd, capture_output=True, text=True, timeout=60,
                          env={**clean, "XDG_CACHE_HOME": str(cwd / ".cache"), **env})


def _clone(tmp_path: Path, build_exit: int = 3) -> Path:
    """A repo root with the real fetch script and a stand-in build script (nothing is built)."""
    repo = tmp_path / "clone"
    (repo / "scripts").mkdir(parents=True)
    shutil.copy(FETCH, repo / "scripts" / FETCH.name)
    shutil.copy(FETCH.parent / "timescaledb_source.sh", repo / "scripts" / "timescaledb_source.sh")
    (repo / "scripts" / "build_timescaledb.sh").write_text(f'#!/bin/sh\necho "would build from $1"\nexit {build_exit}\n')
    (repo / "scripts" / "build_timescaledb.sh").chmod(0o755)
    return repo


def _pinned() -> tuple[str, str]:
    text = FETCH.read_text()
    return (re.search(r"^TIMESCALEDB_VERSION=(\S+)$", text, re.M).group(1),
            re.search(r"^TIMESCALEDB_SHA256=([0-9a-f]{64})$", text, re.M).group(1))


def test_the_release_is_pinned_by_version_url_and_sha256():
    version, sha = _pinned()
    text = FETCH.read_text()
    assert version == "2.22.1" and len(sha) == 64
    assert 'TIMESCALEDB_URL="https://github.com/timescale/timescaledb/archive/refs/tags/${TIMESCALEDB_VERSION}.tar.gz"' in text


def test_a_download_with_the_wrong_sha256_is_refused_and_deleted(tmp_path):
    fake = tmp_path / "timescaledb.tar.gz"
    fake.write_bytes(b"not the release")
    dest = tmp_path / "cache"
    r = subprocess.run([str(FETCH), str(dest)], capture_output=True, text=True, timeout=60,
                       env={**os.environ, "BTB_TIMESCALEDB_URL": fake.as_uri()})
    version, sha = _pinned()
    got = hashlib.sha256(b"not the release").hexdigest()
    assert r.returncode == 4 and r.stdout == "", r
    assert f"REFUSED {fake.as_uri()}: sha256 {got}, expected {sha} (TimescaleDB {version})" in r.stderr
    assert list(dest.iterdir()) == []  # nothing unverified is kept


def test_a_failed_download_says_why(tmp_path):
    r = subprocess.run([str(FETCH), str(tmp_path)], capture_output=True, text=True, timeout=60,
                       env={**os.environ, "BTB_TIMESCALEDB_URL": (tmp_path / "absent.tar.gz").as_uri()})
    assert r.returncode == 3 and "could not download" in r.stderr and "absent.tar.gz" in r.stderr


def test_setup_without_any_source_says_which_backend_and_how_to_get_the_other(tmp_path):
    """A clone without ../shared on a machine that cannot fetch the release: one line, native partitions, and
    how to get TimescaleDB. (PG_MAJOR=99: a PostgreSQL without the extension, so the step looks for a source.)"""
    repo = _clone(tmp_path)
    r = _setup_step(repo, PG_MAJOR="99", BTB_TIMESCALEDB_URL=(tmp_path / "absent.tar.gz").as_uri())
    assert r.returncode == 0 and "STEP-DONE" in r.stdout, r.stderr
    (line,) = [x for x in r.stdout.splitlines() if x.startswith("setup: ")]
    assert f"no source found (BTB_TIMESCALEDB_SOURCE unset, looked for {tmp_path}/shared/vendor/timescaledb-*.tar.gz;" \
           " could not download" in line
    assert "native partitions" in line and "BTB_TIMESCALEDB_SOURCE=TARBALL make setup" in line
    assert "would build" not in r.stdout
    r = _setup_step(repo, BTB_TIMESCALEDB="skip")
    assert r.returncode == 0 and "skipped (BTB_TIMESCALEDB=skip)" in r.stdout


def test_setup_refuses_a_release_whose_sha256_differs(tmp_path):
    repo = _clone(tmp_path)
    fake = tmp_path / "evil.tar.gz"
    fake.write_bytes(b"tampered")
    r = _setup_step(repo, PG_MAJOR="99", BTB_TIMESCALEDB_URL=fake.as_uri())
    assert r.returncode == 0 and "STEP-DONE" in r.stdout, r.stderr
    assert "REFUSED" in r.stdout and "native partitions" in r.stdout and "would build" not in r.stdout


def test_setup_takes_the_sources_in_order(tmp_path):
    """BTB_TIMESCALEDB_SOURCE first, then ../shared/vendor (the CI layout), then the verified download."""
    repo = _clone(tmp_path)
    vendor = tmp_path / "shared" / "vendor"
    vendor.mkdir(parents=True)
    (vendor / "timescaledb-9.9.9-apache.tar.gz").write_text("not a tarball")
    mine = tmp_path / "mine.tar.gz"
    mine.write_text("x")
    r = _setup_step(repo, PG_MAJOR="99", BTB_TIMESCALEDB_SOURCE=str(mine))
    assert f"would build from {mine}" in r.stdout and "(from BTB_TIMESCALEDB_SOURCE)" in r.stdout
    r = _setup_step(repo, PG_MAJOR="99")
    assert r.returncode == 0 and "STEP-DONE" in r.stdout, r.stderr
    assert f"would build from {vendor}/timescaledb-9.9.9-apache.tar.gz" in r.stdout and "(vendored beside the repo)" in r.stdout
    assert "WARNING: TimescaleDB build failed" in r.stdout  # a failed build is reported, setup goes on
    # no vendor dir: the pinned release, once its sha256 matches (a verified copy already in the cache)
    shutil.rmtree(vendor)
    version, sha = _pinned()
    cached = repo / ".cache" / "btb" / f"timescaledb-{version}.tar.gz"
    cached.parent.mkdir(parents=True)
    cached.write_text("stand-in")
    r = _setup_step(repo, PG_MAJOR="99", BTB_TIMESCALEDB_URL=(tmp_path / "absent").as_uri())
    # a cached file is trusted only by its sha256: this one is not the pin, so it is not built from
    assert hashlib.sha256(b"stand-in").hexdigest() != sha
    assert "would build" not in r.stdout and "native partitions" in r.stdout
