"""The campaign's workload: section: defaults keep the isolated protocol, bad input is one line naming the
field, the shipped workloads campaign is valid, and the step plan follows the file."""

from __future__ import annotations

from pathlib import Path

import pytest

from btb.campaign import CampaignError, plan
from btb.campaign_load import load_campaign
from btb.engines.base import QUERY_IDS
from btb.workflow.loadsteps import plans
from btb.workload.spec import QUERIES, WorkloadSpec

REPO = Path(__file__).resolve().parents[2]
BASE = """
name: w
datasets: [{profile: tiny-1d, seed: 3}]
scenarios: [P1]
"""


def _load(tmp_path, text):
    p = tmp_path / "c.yaml"
    p.write_text(BASE + text)
    return load_campaign(p)


def test_no_workload_section_is_the_isolated_protocol(tmp_path):
    c = _load(tmp_path, "")
    assert c.workload.read == "isolated" and not c.workload.is_load
    assert QUERIES == QUERY_IDS


@pytest.mark.parametrize("text,needle", [
    ("workload: {read: burst}", "workload.read"),
    ("workload: {read: mix, mix: {weights: {Q99: 1}}}", "mix.weights: unknown queries ['Q99']"),
    ("workload: {read: mix, mix: {weights: {Q1: 0}}}", "every weight is 0"),
    ("workload: {read: mix, mix: {weights: {Q1: -1}}}", "negative"),
    ("workload: {read: mix, mix: {clients: [], rate: []}}", "needs clients (closed loop) or rate"),
    ("workload: {read: mix, mix: {rate: [0]}}", "mix.rate"),
    ("workload: {read: mix, mix: {clients: [0]}}", "mix.clients"),
    ("workload: {read: sessions, sessions: {operators: []}}", "sessions.operators"),
    ("workload: {read: [mix, mix]}", "each read workload once"),
    ("workload: {read: sessions, sessions: {dashboard: [], interactive: []}}", "both are empty"),
    ("workload: {read: isolated, ingest: {speedup: 10}}", "ingest runs beside mix or sessions"),
    ("workload: {read: none}", "read: none needs an ingest section"),
    ("workload: {read: mix, ingest: {speedup: 0}}", "workload.ingest.speedup"),
    ("workload: {read: mix, ingest: {metadata_share: 1}}", "workload.ingest.metadata_share"),
    ("workload: {read: mix, ingest: {gateway: building}}", "workload.ingest.gateway"),
    ("workload: {read: mix, load: {duration_s: 0}}", "workload.load.duration_s"),
    ("workload: {read: mix, slo_ms: -5}", "workload.slo_ms"),
    ("workload: {read: mix, colour: red}", "workload.colour"),
    ("workload: {read: mix, slo_ms: {dash: 100}}", "unknown query classes ['dash']"),
    ("workload: {read: mix, slo_ms: {}}", "one per query class"),
    ("workload: {read: mix, slo_ms: {dashboard: 0, realtime: 1, analytics: 1, reports: 1}}", "(0, 3600000]"),
    ("workload: {read: mix, slo_ms: {dashboard: 500, realtime: 500}}",
     "no bound for the query classes ['analytics', 'reports']"),
    ("workload: {read: mix, slo_ms: true}", "workload.slo_ms"),
    ("queries: [Q1, Q6]\nworkload: {read: mix, mix: {weights: {Q1: 1, Q12: 1}}}", "issues ['Q12'], which queries: leaves out"),
])
def test_bad_workload_is_one_line_naming_the_field(tmp_path, text, needle):
    with pytest.raises(CampaignError) as e:
        _load(tmp_path, text)
    problems = e.value.problems
    assert len(problems) == 1 and needle in problems[0] and "\n" not in problems[0], problems


def test_ingest_is_declared_and_refused_by_name_while_its_write_path_is_missing(tmp_path):
    c = _load(tmp_path, "workload: {read: mix, ingest: {speedup: 60, batch_interval_s: 0.5, metadata_share: 0.02}}")
    assert c.workload.ingest.speedup == 60 and c.workload.ingest.metadata_share == 0.02
    why = c.workload.unavailable()
    import importlib.util

    if importlib.util.find_spec("btb.workload.ingest") is None:
        assert why and "live ingest is not available in this build" in why
    else:
        assert why is None


def test_the_shipped_workloads_campaign_is_valid():
    c = load_campaign(REPO / "campaigns" / "workloads.yaml")
    assert c.workload.reads == ["mix", "sessions"] and c.workload.ingest is not None
    assert len(c.workload.mix.rate) == 3 and c.workload.sessions.operators == [1, 4, 16]
    assert len(c.scenarios) == 6 and len(c.memory.resolved()) == 2 and c.datasets[0].profile == "small-1w"


def test_steps_follow_the_file(tmp_path):
    c = _load(tmp_path, "workload: {read: [sessions, mix], mix: {clients: [4, 1], rate: [20, 5]},\n"
                        "  sessions: {operators: [2]}, load: {duration_s: 3, burn_in_s: 1}}")
    bindings = {q: [{"x": 1}] for q in QUERY_IDS}
    steps = plans(c.workload, bindings, {})
    assert [(p.loop, p.clients, p.rate) for p in steps] == [("closed", 1, None), ("closed", 4, None),
                                                           ("open", 16, 5.0), ("open", 16, 20.0),
                                                           ("sessions", 2, None)]
    assert [p.index for p in steps] == [0, 1, 2, 3, 4] and all(p.duration_s == 3 and p.drain_s == 3 for p in steps)
    assert c.workload.steps == 5
    assert [p.label for p in steps][2] == "mix open rate 5/s"
    assert len(plan(c, "cid")) == 1  # a trial is still (dataset, scenario, level): its steps run inside it


def test_an_slo_per_query_class_needs_a_bound_only_for_the_classes_the_workload_issues(tmp_path):
    c = _load(tmp_path, "workload: {read: sessions, slo_ms: {dashboard: 1000, realtime: 1000, analytics: 10000}}")
    assert c.workload.slo_ms == {"dashboard": 1000.0, "realtime": 1000.0, "analytics": 10000.0}  # no reports issued
    assert _load(tmp_path, "workload: {read: mix, slo_ms: 250}").workload.slo_ms == 250.0


def test_default_mix_is_the_predecessors_classes():
    from btb.workload.spec import CLASS_OF

    assert {CLASS_OF[q] for q in QUERIES} == {"dashboard", "realtime", "analytics", "reports"}
    w = WorkloadSpec(read="mix").mix.weights
    dashboard, realtime = w["Q12"] + w["Q4"] + w["Q3"], w["Q6"] + w["Q11"]
    analytics, reports = w["Q7"] + w["Q8"] + w["Q13"] + w["Q10"], w["Q9"] + w["Q1"] + w["Q2"] + w["Q5"]
    assert (dashboard, realtime, analytics, reports) == (50, 15, 30, 5)
