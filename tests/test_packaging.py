"""btb as users install it: a wheel (not the checkout) holds the query texts and the default config, and
`btb validate` runs from it in a directory that knows nothing of the repository."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.integration


def test_installed_wheel_finds_its_queries_and_validates(tmp_path, tiny_dataset):
    wheel_dir, site = tmp_path / "wheel", tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w",
                    str(wheel_dir), str(REPO)], check=True, capture_output=True, text=True)
    (wheel,) = wheel_dir.glob("btb-*.whl")
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(site), str(wheel)],
                   check=True, capture_output=True, text=True)
    assert (site / "btb" / "queries" / "P1").is_dir() and (site / "btb" / "conf" / "btb.env").is_file()
    # the top-level queries/ installs as btb.queries (texts and their README), the report's templates as data
    assert (site / "btb" / "queries" / "README.md").is_file() and (site / "btb" / "queries" / "shared" / "series").is_dir()
    assert len(list((site / "btb" / "queries" / "P1c" / "series").glob("Q*.sql"))) == 8  # the chunk layout's series SQL
    assert (site / "btb" / "results" / "templates" / "report.html.j2").is_file()
    # dependencies from this venv, btb itself only from the installed wheel; run outside the checkout
    env = {**os.environ, "PYTHONPATH": str(site), "PYTHONSAFEPATH": "1"}
    probe = subprocess.run([sys.executable, "-c", "import btb; print(btb.__file__)"], cwd=tmp_path, env=env,
                           capture_output=True, text=True, check=True)
    assert probe.stdout.startswith(str(site)), probe.stdout
    r = subprocess.run([sys.executable, "-m", "btb.cli.main", "validate", str(tiny_dataset), "--scenarios", "P1,P1c"],
                       cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    assert "all answers match the oracle" in r.stdout
