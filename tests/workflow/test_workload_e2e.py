"""A load workload end to end on the real stack: `btb submit --wait` → Celery bench worker → PostgreSQL (P1,
tiny building) → load steps run inside the trial task on its node → step records with merged histograms →
report files with curves, saturation and scores; the report's self-checks pass and Flower names the step."""

from __future__ import annotations

import csv

import pytest
from btbtest import run_campaign

from btb.workload import hdr

pytestmark = pytest.mark.integration


def test_mix_and_sessions_run_as_timed_steps_of_the_trial(flower, flower_get, btb_cli, tmp_path):
    run = run_campaign(btb_cli, tmp_path, """
name: wl
datasets: [{profile: tiny-1d, seed: 5}]
scenarios: [P1]
memory: {levels: [unlimited]}
protocol: {timeout_s: 30, bindings: 2}
queries: [Q3, Q4, Q6, Q12]
workload:
  read: [mix, sessions]
  mix: {weights: {Q3: 1, Q6: 2, Q12: 1}, clients: [2], rate: [4], open_clients: 4}
  sessions: {operators: [2], dashboard: [Q12, Q4], refresh_s: 1, interactive: [Q3, Q6], think_s: 0.2}
  load: {burn_in_s: 1, duration_s: 4, drain_s: 4}
  seed: 7
""")
    r, cid = run.result, run.cid
    assert ", 0 failed" in r.stdout, r.stdout  # self-checks, the load-step check among them
    summary = run.summary
    assert summary["status"] == "done" and summary["trials"][f"{cid}.t000"]["status"] == "completed", summary["trials"]
    assert all(v["matched"] == v["checked"] for v in summary["validation"])  # the answer gate ran first
    steps = {(s["workload"], s["loop"]): s for s in summary["load"]}
    assert set(steps) == {("mix", "closed"), ("mix", "open"), ("sessions", "sessions")}
    opened = steps[("mix", "open")]
    assert opened["ops"] == opened["ok"] == 16 and opened["missed"] == 0  # 4/s × 4 s, every op due ran and answered
    assert hdr.decode(opened["response"]).get_total_count() == 16
    closed = steps[("mix", "closed")]
    assert closed["ok"] > 0 and closed["error_rate"] == 0 and closed["clients"] == 2
    sess = steps[("sessions", "sessions")]
    assert sess["ok"] > 0 and sess["clients"] == 2
    records = run.records
    assert not [x for x in records if x["kind"] == "run"]  # load steps replace the isolated batches
    assert [x["label"] for x in records if x["kind"] == "load_step"] == [
        "mix closed 2 clients", "mix open rate 4/s", "sessions 2 operators"]
    with (run.dir / "load_curves.csv").open() as f:
        curves = list(csv.DictReader(f))
    assert len(curves) == 3 and all(c["scenario"] == "P1" and c["machine"] for c in curves)
    with (run.dir / "saturation.csv").open() as f:
        (sat,) = list(csv.DictReader(f))
    assert sat["slo_ms"] == "100.0" and sat["rates_offered"] == "[4.0]"
    with (run.dir / "scores.csv").open() as f:
        (score,) = list(csv.DictReader(f))
    # the open step's 16 ops are too few for a p95: that cell is dropped, the two others are scored
    assert score["scenario"] == "P1" and float(score["score"]) == 1.0 and (score["cells"], score["dropped_cells"]) == ("2", "1")
    # Flower: the trial task names its load step (its last phase, the store check, says after which step)
    tasks = flower_get(flower, "/api/tasks?limit=500")
    names = [str(t["name"]) for t in tasks.values() if cid in str(t["name"])]
    assert any("sessions 2 operators]" in n or "[mix " in n for n in names), names
