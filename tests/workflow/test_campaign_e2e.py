"""A real campaign end to end: `btb submit --wait` → Redis → Celery workers → PostgreSQL → monitor →
aggregator → report files. Nothing is mocked: the workers are the ones `btb up` starts."""

from __future__ import annotations

import json

import pytest
from btbtest import run_campaign

pytestmark = pytest.mark.integration


def test_demo_like_campaign_end_to_end(flower, flower_get, btb_cli, tmp_path):
    s = flower
    run = run_campaign(btb_cli, tmp_path, """
name: e2e
datasets: [{profile: tiny-1d, seed: 5}]
scenarios: [P1]
memory: {levels: [unlimited]}
protocol: {warmups: 1, runs: 3, timeout_s: 30, bindings: 2}
queries: [Q1, Q6]
""")
    r, cid = run.result, run.cid
    assert "Q1" in r.stdout and "Q6" in r.stdout and "p95" in r.stdout
    summary = run.summary
    assert summary["status"] == "done"
    rows = {(x["scenario"], x["query"]): x for x in summary["rows"]}
    for q in ("Q1", "Q6"):
        row = rows[("P1", q)]
        assert row["statuses"] == {"ok": 6}, row  # 2 bindings × 3 runs, warm-ups not counted
        assert 0 < row["p50"] <= row["p95"] <= row["max"]
        assert row["res_peak_bytes"] > 0  # the monitor sampled the engine during the batch
    assert all(v["matched"] == v["checked"] == 2 for v in summary["validation"]), summary["validation"]
    (ing,) = summary["ingest"]
    env = summary["environment"][s.node]  # host, kernel, CPU, cgroups, engine versions, btb revision
    assert env and "PostgreSQL" in json.dumps(env)
    assert ing["status"] == "ok" and ing["rows_per_s"] > 0 and ing["bytes_on_disk"] > 0
    assert ing["bytes_per_sample"] == ing["bytes_on_disk"] / ing["samples"] > 0
    records = run.records
    runs = [x for x in records if x["kind"] == "run"]
    per = {}
    for x in runs:
        kind = "cold" if x["cold"] else "warmup" if x["warmup"] else "run"
        per.setdefault((x["query"], x["binding"]), []).append((kind, x["run"]))
    assert sorted(per) == [("Q1", 0), ("Q1", 1), ("Q6", 0), ("Q6", 1)]
    for (q, b), v in per.items():  # each query's first binding also has its cold run (fresh engine)
        want = [("run", 0), ("run", 1), ("run", 2), ("warmup", 0)] + ([("cold", 0)] if b == 0 else [])
        assert sorted(v) == sorted(want), (q, b, v)
    # load once: one ingest; the trial then provisioned its engines again under its own level
    assert [x["kind"] for x in records].count("ingest") == 1 and [x["kind"] for x in records].count("provision") == 1
    csv_text = (run.dir / "summary.csv").read_text()
    assert csv_text.count("\n") == 3 and ing["fingerprint"] in csv_text
    # btb's own RSS over the attempt (the worker process alone, not its engines): in trials.json and ingest.csv
    (trial,) = json.loads((run.dir / "trials.json").read_text()).values()
    assert 20 * 2**20 < trial["btb_rss_start_bytes"] <= trial["btb_rss_peak_bytes"] < 2**30, trial
    import csv

    (row,) = csv.DictReader((run.dir / "ingest.csv").open())
    assert int(row["btb_rss_peak_bytes"]) == trial["btb_rss_peak_bytes"]

    # Flower saw the campaign's tasks of every kind: the trial (a token of its engine set), its monitor
    # (named by trial id) and the aggregation of the campaign; none was retried
    tasks = flower_get(s, "/api/tasks?limit=500")
    mine = [t for t in tasks.values() if cid in str(t.get("args", "")) or str(t["name"]).startswith("btb.trial")]
    names = {t["name"] for t in mine}
    assert {"btb.monitor", "btb.aggregate"} <= names, names
    # the trial's task carries its scenario, level and id once claimed, and its phase as a custom state
    trial_tasks = [t for t in tasks.values() if str(t["name"]).startswith(f"btb.trial P1@unlimited {cid}")]
    assert trial_tasks and trial_tasks[0]["state"] == "SUCCESS", [t["name"] for t in tasks.values()]
    assert not [t for t in mine if t.get("state") in ("RETRY", "FAILURE")]


def test_status_and_report_commands(flower, btb_cli, tmp_path):
    from btb.results.store import Ledger

    camp = tmp_path / "st.yaml"
    camp.write_text("name: st\ndatasets: [{profile: tiny-1d, seed: 5}]\nscenarios: [P1]\n"
                    "protocol: {warmups: 0, runs: 1, bindings: 1}\nqueries: [Q3]\n"
                    f"output_dir: {tmp_path / 'out'}\n")
    btb_cli("submit", camp, "--wait")
    cid = Ledger(flower.redis_url).latest_campaign()
    assert cid.startswith("st-")
    assert "completed" in btb_cli("status", cid).stdout
    btb_cli("report", cid, "--out", tmp_path / "rep")
    assert (tmp_path / "rep" / "summary.json").exists() and (tmp_path / "rep" / "records.jsonl").exists()


def test_submit_refuses_a_scenario_no_live_worker_can_run(redis_server, tmp_path):
    """Against a broker database no worker serves, submit says so in one line and enqueues nothing."""
    import os
    import subprocess
    import sys

    camp = tmp_path / "nobody.yaml"
    camp.write_text("name: nobody\ndatasets: [{profile: tiny-1d, seed: 5}]\nscenarios: [P2]\n")
    url = redis_server.redis_url.rsplit("/", 1)[0] + "/7"  # same server, a database no worker registered in
    r = subprocess.run([sys.executable, "-m", "btb.cli.main", "submit", str(camp)], capture_output=True, text=True,
                       env={**os.environ, "BTB_BROKER_URL": url})
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert r.returncode == 2 and len(lines) == 1, r.stderr
    assert "no live worker can run P2" in lines[0] and "btb up" in lines[0]


def test_campaign_on_an_imported_brick_model(flower, btb_cli, tmp_path):
    """`datasets: - model:` runs like a profile: the node imports the model, P1 loads and validates it, the
    bound query is measured and the unbound one is reported `no binding in this model`, not measured."""
    from pathlib import Path

    model = tmp_path / "models" / "messy.ttl"
    model.parent.mkdir()
    model.write_bytes((Path(__file__).resolve().parents[1] / "data" / "brick" / "messy.ttl").read_bytes())
    run = run_campaign(btb_cli, tmp_path, "name: model\ndatasets: [{model: models/messy.ttl, duration: 1d, seed: 2}]\n"
                       "scenarios: [P1]\nprotocol: {warmups: 0, runs: 2, bindings: 2}\nqueries: [Q3, Q8]\n")
    r = run.result
    summary = run.summary
    assert summary["status"] == "done"
    rows = {x["query"]: x for x in summary["rows"]}
    assert rows["Q3"]["statuses"] == {"ok": 4} and rows["Q3"]["dataset"] == "messy-1d-s2"
    assert rows["Q8"]["statuses"] == {"no binding in this model": 1} and rows["Q8"]["n"] == 0
    assert "no tenant" in rows["Q8"]["message"]
    records = run.records
    assert not [x for x in records if x["kind"] == "run" and x["query"] == "Q8"]
    assert [x["status"] for x in records if x["kind"] == "unbound"] == ["no_binding"]
    (ing,) = summary["ingest"]
    assert ing["status"] == "ok"
    assert ", 0 failed" in r.stdout, r.stdout  # the report's self-checks (runs × bindings skips Q8) all pass
