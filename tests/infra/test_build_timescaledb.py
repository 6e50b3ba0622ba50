"""scripts/build_timescaledb.sh: refuses a missing source before touching apt, and is idempotent (a second
run on an installed version does nothing). The build itself is exercised by `scripts/setup.sh` (CI)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from btb.infra.engines import postgres as pgeng

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "scripts" / "build_timescaledb.sh"
VENDORED = sorted((REPO.parent / "shared" / "vendor").glob("timescaledb-*.tar.gz"))


def test_a_missing_source_is_refused_with_its_name():
    r = subprocess.run([str(SCRIPT), "/nonexistent/timescaledb.tar.gz"], capture_output=True, text=True, timeout=30)
    assert r.returncode == 1 and "source not found: /nonexistent/timescaledb.tar.gz" in r.stderr
    r = subprocess.run([str(SCRIPT)], capture_output=True, text=True, timeout=30)
    assert r.returncode == 2 and "usage" in r.stderr


@pytest.mark.skipif(not VENDORED, reason="no vendored TimescaleDB source beside the repo (../shared/vendor)")
@pytest.mark.skipif(not VENDORED or pgeng.timescale_installed(pgeng.find_pg_bin())[0] is None
                    or f"timescaledb-{pgeng.timescale_installed(pgeng.find_pg_bin())[0]}-" not in VENDORED[-1].name,
                    reason="the vendored version is not the one installed (the script would build it)")
def test_a_second_run_on_the_installed_version_does_nothing():
    r = subprocess.run([str(SCRIPT), str(VENDORED[-1])], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert "already installed" in r.stdout and "building" not in r.stdout
