"""Campaign files: valid ones plan the right trials; bad ones fail with one line naming the field."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from btb.campaign import CampaignError, parse_size, plan
from btb.campaign_load import load_campaign

REPO = Path(__file__).resolve().parent.parent


def _write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "c.yaml"
    p.write_text(text)
    return p


GOOD = """
name: t
datasets: [{profile: tiny-1d, seed: 3}]
scenarios: [P1, P2]
memory: {levels: [1GiB, 256MiB, unlimited]}
protocol: {warmups: 0, runs: 2}
queries: [Q6, Q1]
"""


def test_shipped_campaigns_are_valid():
    names = sorted(p.name for p in (REPO / "campaigns").glob("*.yaml"))
    assert {"demo.yaml", "example.yaml", "soda-hall.yaml", "workloads-small.yaml", "scale-rss.yaml"} <= set(names)
    for name in names:
        c = load_campaign(REPO / "campaigns" / name)
        assert plan(c, "x"), name


def test_the_demo_shows_a_gradient():
    """`make demo` answers "at what budget": ≥ 3 sized levels, the smallest below what the scenarios need
    (measured: P1 P2 F1 F2 O2 OOM at 16 MiB on tiny-1d), bisection to bracket minimum viable RAM."""
    c = load_campaign(REPO / "campaigns" / "demo.yaml")
    sized = [lv for lv in c.memory.resolved() if lv != "unlimited"]
    assert len(sized) >= 3 and c.memory.bisecting and sized[0] == "16MiB"
    assert c.scenarios == ["P1", "P2", "F1", "F2", "O1", "O2", "D1", "D2"]  # every scenario that runs locally


def test_plan_climbs_levels_with_scenarios_interleaved(tmp_path):
    c = load_campaign(_write(tmp_path, GOOD))
    trials = plan(c, "cid")
    assert [(t.scenario, t.level) for t in trials] == [
        ("P1", "256MiB"), ("P2", "256MiB"), ("P1", "1GiB"), ("P2", "1GiB"),
        ("P1", "unlimited"), ("P2", "unlimited")]
    assert len({t.id for t in trials}) == 6
    c2 = load_campaign(_write(tmp_path, GOOD.replace("runs: 2}", "runs: 2, repetitions: 2}")))
    reps = [(t.repetition, t.scenario, t.level) for t in plan(c2, "cid")]
    assert len(reps) == 12 and reps[:6] == [(0, s, lv) for s, lv in [(t.scenario, t.level) for t in trials]]
    assert c.query_ids == ["Q1", "Q6"]  # canonical order


def test_sizes():
    assert parse_size("256MiB") == 256 * 2**20
    assert parse_size("1.5GiB") == int(1.5 * 2**30)
    with pytest.raises(ValueError):
        parse_size("lots")


@pytest.mark.parametrize("text,field", [
    (GOOD.replace("[P1, P2]", "[P1, X9]"), "scenarios"),
    (GOOD.replace("runs: 2", "runs: -1"), "protocol.runs"),
    (GOOD.replace("name: t\n", ""), "name"),
    (GOOD.replace("tiny-1d", "huge-1d"), "datasets[0].profile"),
    (GOOD.replace("[Q6, Q1]", "[Q6, Q99]"), "queries"),
    (GOOD.replace("[1GiB, 256MiB, unlimited]", "[1MiB]"), "memory.levels"),
    (GOOD + "colour: blue\n", "colour"),
    ("name: [unclosed\n", "not valid YAML"),
    (GOOD.replace("runs: 2}", "runs: 2, federation: temp}"), "protocol.federation"),
])
def test_bad_campaign_names_the_field(tmp_path, text, field):
    with pytest.raises(CampaignError) as e:
        load_campaign(_write(tmp_path, text))
    problems = e.value.problems
    assert len(problems) == 1 and field in problems[0] and "\n" not in problems[0], problems


def test_cli_rejects_bad_campaign_with_one_line_and_nonzero_exit(tmp_path):
    p = _write(tmp_path, GOOD.replace("[P1, P2]", "[P1, NOPE]"))
    r = subprocess.run([sys.executable, "-m", "btb.cli.main", "submit", str(p)], capture_output=True, text=True)
    assert r.returncode == 2
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert len(lines) == 2, r.stderr  # "FILE: 1 problem", then the problem, field path first
    assert lines[1].strip().startswith("scenarios:") and "NOPE" in lines[1] and "Traceback" not in r.stderr


MODEL = REPO / "tests" / "data" / "brick" / "messy.ttl"


def test_a_brick_model_is_a_dataset_beside_profiles(tmp_path):
    """`datasets: - model:` (relative to the campaign file) plans trials that carry the model's absolute path."""
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "b.ttl").write_bytes(MODEL.read_bytes())
    text = GOOD.replace("datasets: [{profile: tiny-1d, seed: 3}]",
                        "datasets:\n  - {profile: tiny-1d, seed: 3}\n  - {model: models/b.ttl, duration: 1d, seed: 2}")
    trials = plan(load_campaign(_write(tmp_path, text)), "cid")
    imported = [t for t in trials if t.model]
    assert len(imported) == len(trials) // 2
    t = imported[0]
    assert t.model == str((tmp_path / "models" / "b.ttl").resolve()) and t.duration == "1d" and t.seed == 2
    assert t.dataset == "b-1d-s2" and t.profile == "b-1d"
    from btb.campaign import Trial

    assert Trial.from_dict(t.to_dict()) == t  # survives the trial board's JSON round trip


@pytest.mark.parametrize("entry,needle", [
    ("{model: models/missing.ttl, seed: 1}", "datasets[0].model: file not found"),
    ("{model: models, seed: 1}", "datasets[0].model:"),
    ("{model: m.ttl, profile: tiny-1d}", "not both"),
    ("{profile: tiny-1d, duration: 1d}", "duration goes with model"),
    ("{model: m.ttl, duration: 3d}", "unknown duration"),
])
def test_bad_model_dataset_is_one_line_naming_the_field(tmp_path, entry, needle):
    (tmp_path / "models").mkdir()
    (tmp_path / "m.ttl").write_bytes(MODEL.read_bytes())
    text = GOOD.replace("datasets: [{profile: tiny-1d, seed: 3}]", f"datasets: [{entry}]")
    with pytest.raises(CampaignError) as e:
        load_campaign(_write(tmp_path, text))
    assert any(needle in p and "\n" not in p for p in e.value.problems), e.value.problems


def test_the_protocol_forces_a_federation_path_through_run_options(tmp_path):
    """`protocol.federation` reaches the scenarios as RunOptions.federation (auto when not given), and the
    bad-value message lists the three paths."""
    from btb.workflow.attempt import run_options

    assert run_options(load_campaign(_write(tmp_path, GOOD))).federation == "auto"
    forced = load_campaign(_write(tmp_path, GOOD.replace("runs: 2}", "runs: 2, federation: temp_table}")))
    assert forced.protocol.federation == "temp_table" and run_options(forced).federation == "temp_table"
    with pytest.raises(CampaignError) as e:
        load_campaign(_write(tmp_path, GOOD.replace("runs: 2}", "runs: 2, federation: ANY}")))
    assert all(w in e.value.problems[0] for w in ("'auto'", "'any'", "'temp_table'")), e.value.problems


def test_relative_levels_plan_ascending_and_bad_fractions_name_the_field(tmp_path):
    c = load_campaign(_write(tmp_path, GOOD.replace("[1GiB, 256MiB, unlimited]", "{relative: [2, 1, 0.5, 0.25, 0.1]}")))
    assert c.memory.resolved() == ["rel-0.1", "rel-0.25", "rel-0.5", "rel-1", "rel-2"]
    assert [t.level for t in plan(c, "x") if t.scenario == "P1"] == c.memory.resolved()
    from btb.campaign import level_bytes

    assert level_bytes("rel-0.25", None, 4, store_bytes=400 * 2**20) == 100 * 2**20
    with pytest.raises(ValueError, match="measured store size"):
        level_bytes("rel-0.25", 10**9, 4, store_bytes=None)
    with pytest.raises(CampaignError) as e:
        load_campaign(_write(tmp_path, GOOD.replace("[1GiB, 256MiB, unlimited]", "{relative: [1, 0]}")))
    assert "memory.levels" in str(e.value) and "between 0.001 and 1000" in str(e.value)
