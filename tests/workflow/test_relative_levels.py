"""Levels relative to the data: `levels: {relative: [...]}` resolves, per load, to fractions of the store
size its ingest measured, and every trial records the bytes it ran under."""

from __future__ import annotations

import pytest
from btbtest import run_campaign

pytestmark = pytest.mark.integration


def test_relative_levels_resolve_to_fractions_of_the_measured_store(workers, btb_cli, tmp_path):
    run = run_campaign(btb_cli, tmp_path, """
name: relative
datasets: [{profile: tiny-1d, seed: 5}]
scenarios: [P1]
memory: {levels: {relative: [8, 4]}}
protocol: {warmups: 0, runs: 1, timeout_s: 30, bindings: 1, validate: false}
queries: [Q3, Q6]
""")
    summary = run.summary
    records = run.records
    (ing,) = [x for x in records if x["kind"] == "ingest"]
    store = ing["bytes_on_disk"]
    assert ing["status"] == "ok" and store > 0
    by_level = {t["level"]: t for t in summary["trials"].values()}
    assert set(by_level) == {"rel-4", "rel-8"}
    for f in (4, 8):
        assert by_level[f"rel-{f}"]["budget"] == int(f * store), by_level
    prov = {x["level"]: x for x in records if x["kind"] == "provision"}
    assert prov["rel-4"]["budget"] == int(4 * store) and prov["rel-4"]["store_bytes"] == store
    rows = list((run.dir / "summary.csv").read_text().splitlines())
    assert any(",rel-8," in line and f",{int(8 * store)}," in line for line in rows), rows[:3]
