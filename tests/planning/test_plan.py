"""`btb plan`: a dataset sized from its profile agrees with the generated one, the plan's figures follow the
measured rates and the protocol, earlier ledger measurements override the defaults, and a campaign that cannot
fit a node's disk is refused — by `btb plan` and by `btb submit` — before any dataset is generated."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from btb.campaign_load import validate_mapping
from btb.planning import make_plan
from btb.planning.estimate import bisection_worst
from btb.planning.rates import Fit, Overrides, ledger_overrides, load_rates
from btb.planning.size import profile_shape

MiB = 2**20
EIGHT = ["P1", "P2", "F1", "F2", "O1", "O2", "D1", "D2"]


def _campaign(profile: str, seed: int, scenarios=EIGHT, name: str = "plantest", **protocol):
    return validate_mapping({"name": name, "datasets": [{"profile": profile, "seed": seed}], "scenarios": scenarios,
                             "memory": {"levels": ["64MiB", "unlimited"]}, "protocol": protocol}, "test")


def _yaml(path, profile: str, seed: int, name: str = "plantest"):
    path.write_text(f"name: {name}\ndatasets: [{{profile: {profile}, seed: {seed}}}]\nscenarios: [{', '.join(EIGHT)}]\n"
                    "memory: {levels: {relative: [1, 0.5]}, bisect: true}\n")
    return path


@pytest.mark.parametrize("profile,seed", [("tiny-1d", 11), ("small-1d", 3)])
def test_dataset_sized_from_its_profile_matches_the_generated_one(profile, seed, tmp_path):
    from btb.dataset.generator import generate

    p = make_plan(_campaign(profile, seed), tmp_path / "datasets")  # nothing there: estimated from the profile
    est = p.datasets[0]
    assert est.shape.source == "estimated from the profile" and not est.present
    assert not (tmp_path / "datasets").exists()  # planning writes nothing
    m = generate(profile, seed, tmp_path / "real")
    assert abs(est.shape.samples / m.counts["samples"] - 1) < 0.01, (est.shape.samples, m.counts["samples"])
    assert est.shape.points == m.counts["points"]
    assert abs(est.parquet_bytes / m.bytes - 1) < 0.30, (est.parquet_bytes, m.bytes)
    on_disk = make_plan(_campaign(profile, seed), tmp_path / "real2")
    assert on_disk.datasets_bytes == est.parquet_bytes


def test_a_dataset_on_disk_is_read_from_its_manifest(tiny_dataset, tmp_path):
    root = tmp_path / "datasets"
    root.mkdir()
    (root / "tiny-1d-s11").symlink_to(tiny_dataset)
    p = make_plan(_campaign("tiny-1d", 11), root)
    d = p.datasets[0]
    assert d.present and d.shape.source.startswith("manifest of") and p.datasets_bytes == 0  # nothing to generate
    from btb.dataset.format import Manifest

    assert d.shape.samples == Manifest.read(tiny_dataset).counts["samples"]


def test_fit_and_scaling():
    f = Fit.of([(1, 3.0), (3, 7.0), (5, 11.0)])
    assert (round(f.fixed, 9), round(f.per_unit, 9)) == (1.0, 2.0)
    assert Fit.of([(1, 5.0), (2, 4.0)]) == Fit(4.5, 0.0)  # a falling line is noise: the mean, no slope
    rates = load_rates()
    small, xl = profile_shape("small-1d", 1), profile_shape("xlarge-1y", 1)
    p1 = rates.scenario("P1")
    assert p1.store_bytes.at(xl.samples) / xl.samples == pytest.approx(p1.store_bytes.per_unit, rel=0.01)
    assert p1.store_bytes.at(small.samples) < p1.store_bytes.at(xl.samples)


def test_bisection_worst_case_follows_the_rule():
    # 64 and 128 MiB at 10 %, a minimum viable RAM of 17.5 MiB: both pass, so the search halves to 32 (passes) and
    # 16 MiB (the floor, fails), then bisects 16..32 at whole MiB: 23, 19, 17 (fails), 18 — 18/17 ≤ 1.1: six trials
    assert bisection_worst([64 * MiB, 128 * MiB], 0.10) == 6
    # a bracket inside the levels alone: 1..2 GiB at 10 % takes 3 steps (2 → 1.41 → 1.19 → 1.09); halving
    # down from 1 GiB to the floor takes 6, then 16..32 MiB 4 more
    assert bisection_worst([1024 * MiB, 2048 * MiB], 0.10) == 10
    assert bisection_worst([16 * MiB], 0.5) == 0  # serves at the floor: nothing to refine
    assert bisection_worst([], 0.1) == 0


def test_trial_time_follows_the_protocol(tmp_path):
    few, many = (make_plan(_campaign("tiny-1d", 2, ["P1"], runs=r), tmp_path) for r in (5, 50))
    grow = many.loads[0].trial_s - few.loads[0].trial_s
    r = load_rates().scenario("P1")
    shape = few.datasets[0].shape
    from btb.planning.rates import query_scope

    warm = sum(r.warm_s[q].at(query_scope(q, shape)) for q in few.campaign.query_ids)
    assert grow == pytest.approx(45 * 3 * warm, rel=1e-6)  # 45 more runs × 3 bindings × each query's warm run
    capped = make_plan(_campaign("tiny-1d", 2, ["P1"], runs=50, timeout_s=0.01), tmp_path)
    assert capped.loads[0].trial_s < many.loads[0].trial_s  # a run never takes longer than its timeout


def test_earlier_ingest_records_override_the_defaults(tmp_path):
    ov = Overrides.from_records([{"scenario": "P1", "status": "ok", "samples": 1000, "seconds": 2.0,
                                  "bytes_per_sample": 500.0, "dataset": "x"}], "earlier-1")
    p = make_plan(_campaign("tiny-1d", 2, ["P1", "F1"]), tmp_path)
    from btb.planning.estimate import plan_campaign

    q = plan_campaign(p.campaign, {p.datasets[0].shape.key: p.datasets[0].shape}, p.rates, ov)
    n = p.datasets[0].shape.samples
    assert q.loads[0].store_bytes == 500.0 * n and "earlier-1" in q.loads[0].sources["store"]
    assert q.loads[1].store_bytes == p.loads[1].store_bytes  # F1 not measured earlier: the default


@pytest.mark.integration
def test_ledger_overrides_read_the_latest_campaign_of_that_name(redis_server):
    from btb.results.store import Ledger
    from btb.trials.board import TrialBoard

    url = redis_server.redis_url
    name = f"ov{time.time_ns() % 10**9}"
    cid = f"{name}-1"
    Ledger(url).create_campaign(cid, {"name": name}, 1, {})
    TrialBoard(url).add_trials(cid, [{"id": f"{cid}.t000", "index": 0, "campaign_id": cid}], {f"{cid}.t000": "postgres"})
    Ledger(url).add_unfenced(f"{cid}.t000", "ingest", {"kind": "ingest", "scenario": "P2", "status": "ok",
                                                      "samples": 4000, "seconds": 4.0, "bytes_per_sample": 77.0})
    ov = ledger_overrides(name, url)
    assert ov.bytes_per_sample == {"P2": 77.0} and ov.samples_per_s == {"P2": 1000.0} and cid in ov.source["P2"]
    assert "no earlier campaign" in ledger_overrides(name + "x", url).note
    assert "no broker" in ledger_overrides(name, None).note


def _plan_cli(*args, env=None):
    return subprocess.run([sys.executable, "-m", "btb.cli.main", "plan", *map(str, args)], capture_output=True,
                          text=True, timeout=300, env=env or os.environ.copy())


def test_plan_refuses_xlarge_1y_before_any_dataset_exists(settings, tmp_path):
    camp = _yaml(tmp_path / "xl.yaml", "xlarge-1y", 1, "xl")
    r = _plan_cli(camp)
    assert r.returncode == 1, r.stdout + r.stderr
    refused = [ln for ln in r.stderr.splitlines() if ln.startswith("refused: ")]
    assert refused and all("needed" in ln and "free" in ln and "BTB_ENGINES_DIR" in ln for ln in refused), r.stderr
    assert "xlarge-1y-s1: 21,6" in r.stdout  # ~21.7 G samples, sized without generating them
    assert not list(settings.datasets_dir.glob("*xlarge-1y*")) if settings.datasets_dir.exists() else True


@pytest.mark.skipif(os.geteuid() != 0, reason="mounting a small tmpfs needs root")
def test_plan_refuses_when_a_small_filesystem_cannot_hold_it(tmp_path):
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    camp = _yaml(tmp_path / "tiny.yaml", "tiny-1d", 4)
    env = os.environ | {"BTB_STATE_DIR": str(mnt / "state"), "BTB_ENGINES_DIR": str(mnt / "engines")}
    for size, code in (("8m", 1), ("512m", 0)):
        subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(mnt)], check=True)
        try:
            r = _plan_cli(camp, env=env)
            assert r.returncode == code, (size, r.stdout, r.stderr)
            if code:
                assert f"datasets dir {mnt}/state/datasets and engines dir {mnt}/engines: needed" in r.stderr, r.stderr
            assert not (mnt / "state" / "datasets").exists()  # nothing generated, not even the dir
        finally:
            subprocess.run(["umount", str(mnt)], check=True)


@pytest.mark.integration
def test_submit_refuses_a_campaign_the_node_cannot_hold(workers, btb_cli, tmp_path):
    from btb.results.store import Ledger
    from btb.trials.board import TrialBoard
    from btbtest import wait_until

    s = workers
    wait_until(lambda: TrialBoard(s.redis_url).nodes().get(s.node, {}).get("disk"), 60, "the node's disk report")
    before = set(Ledger(s.redis_url).campaigns(1000))
    r = btb_cli("submit", _yaml(tmp_path / "xl.yaml", "xlarge-1y", 1, "xlsubmit"), check=False)
    assert r.returncode == 1 and f"refused: node {s.node}:" in r.stderr and "needed" in r.stderr, r.stdout + r.stderr
    assert set(Ledger(s.redis_url).campaigns(1000)) == before  # nothing enqueued
    assert not list(s.datasets_dir.glob("*xlarge-1y*")) if s.datasets_dir.exists() else True
