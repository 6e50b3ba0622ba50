"""`btb compare A B` on two results directories (no Redis): ratios per query, a change called only when the
medians' CIs do not overlap."""

from __future__ import annotations

import csv
import subprocess
import sys

from test_checks import TID, _bundle

from btb.results.compare import compare
from btb.results.files import summarize_bundle, write_bundle


def _slower(factor: float):
    b = _bundle(runs=20)
    for r in b.records:
        if r["kind"] == "run":
            r["seconds"] *= factor
    b.summary = summarize_bundle(b)
    return b


def test_compare_calls_a_change_only_beyond_the_ci(tmp_path):
    a, same, slow = _bundle(runs=20), _bundle(runs=20), _slower(10)
    (row,) = compare(a, same)
    assert row["ratio_b_over_a"] == 1.0 and row["verdict"] == "same (CIs overlap)"
    (row,) = compare(a, slow)
    assert abs(row["ratio_b_over_a"] - 10) < 1e-9 and row["verdict"] == "slower"
    (row,) = compare(slow, a)
    assert row["verdict"] == "faster"
    write_bundle(tmp_path / "A", a)
    write_bundle(tmp_path / "B", slow)
    r = subprocess.run([sys.executable, "-m", "btb.cli.main", "compare", str(tmp_path / "A"), str(tmp_path / "B"),
                        "--csv", str(tmp_path / "cmp.csv")], capture_output=True, text=True, timeout=120,
                       env={"BTB_BROKER_URL": "redis://:x@127.0.0.1:1/0", "PATH": "/usr/bin:/bin"})
    assert r.returncode == 0, r.stderr
    assert "slower" in r.stdout and "B faster in 0, slower in 1" in r.stdout
    (row,) = list(csv.DictReader((tmp_path / "cmp.csv").open()))
    assert row["query"] == "Q1" and row["verdict"] == "slower" and TID.split(".")[0] in r.stdout
