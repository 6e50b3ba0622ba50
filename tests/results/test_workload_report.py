"""The load report's rules on step rows built from real histograms: repetitions merge by histogram, the
saturation throughput is the highest valid rate within the SLO, the score follows ClickBench's rule with
failed cells penalised and client-bound cells dropped, and different machines never share one axis."""

from __future__ import annotations

import math

import numpy as np

from btb.results import workload as w
from btb.workload import hdr

SPEC = {"workload": {"read": "mix", "slo_ms": 100, "seed": 0, "mix": {"weights": {"Q6": 1}}},
        "protocol": {"timeout_s": 30}}
ENV = {"n1": {"host": "a", "cpu_model": "X", "cpu_logical": 2, "ram_bytes": 8 * 2**30},
       "n2": {"host": "b", "cpu_model": "Y", "cpu_logical": 64, "ram_bytes": 256 * 2**30}}


def _hist(xs) -> str:
    h = hdr.histogram()
    for x in xs:
        hdr.record(h, float(x))
    return hdr.encode(h)


def _step(sc, rate, lat, trial="t1", node="n1", valid=True, ok=None, missed=0, level="1GiB", seed=0, per_query=None):
    xs = np.random.default_rng(seed).exponential(lat, 400)
    n = 400 if ok is None else ok
    if per_query:  # {qid: latencies}: the step's ops are these, per query
        xs = np.concatenate([np.asarray(v, float) for v in per_query.values()])
        n = len(xs)
    return {"workload": "mix", "loop": "open", "clients": 16, "rate": rate, "step": 0, "label": "x", "burn_in_s": 1,
            "duration_s": 10, "arrival": "uniform", "clients_as": "threads", "ops": 400, "ok": n, "missed": missed,
            "statuses": {"ok": n}, "achieved_ops_s": n / 10, "response": _hist(xs[:n]), "service": _hist(xs[:n] / 2),
            "lag": _hist(np.full(400, 0.0005)), "valid": valid, "verdict": "valid" if valid else "client-bound",
            "tolerance_ms": 50, "client_cores": 0.1, "scenario": sc, "dataset": "tiny-1d-s1", "level": level,
            "node": node, "trial": trial,
            "per_query": {q: [_hist(v), _hist(np.asarray(v) / 2)] for q, v in (per_query or {}).items()}}


def test_repetitions_merge_by_histogram_not_by_averaging_percentiles():
    a, b = _step("P1", 5, 0.002, trial="t1", seed=1), _step("P1", 5, 0.200, trial="t2", seed=2)
    (c,) = w.curves([a, b], {}, ENV, {}, SPEC)
    assert c["repetitions"] == 2 and c["ops"] == 800
    merged = hdr.merge([a["response"], b["response"]])
    assert c["response_p99_s"] == merged.get_value_at_percentile(99) / 1e6
    avg = (hdr.decode(a["response"]).get_value_at_percentile(99) + hdr.decode(b["response"]).get_value_at_percentile(99)) / 2e6
    assert not math.isclose(c["response_p99_s"], avg, rel_tol=0.05)


def test_saturation_is_the_highest_valid_rate_within_the_slo():
    rows = [_step("P1", 2, 0.005), _step("P1", 5, 0.010), _step("P1", 10, 0.020, valid=False),  # client-bound
            _step("P1", 20, 0.500),  # over the SLO
            _step("P2", 2, 0.500), _step("P3", 2, 0.005), _step("P3", 5, 0.010)]
    sat = {s["scenario"]: s for s in w.saturation(w.curves(rows, {}, ENV, {}, SPEC), w.Slo(0.100))}
    assert sat["P1"]["saturation_ops_s"] == 5.0 and sat["P1"]["client_bound_rates"] == [10.0]
    # measured: the curve bent between 5/s (met) and 20/s (over the SLO); the client-bound 10/s says nothing
    assert sat["P1"]["reached"] and sat["P1"]["past_ops_s"] == 20.0 and "not at 20 (p95" in sat["P1"]["note"]
    assert sat["P2"]["saturation_ops_s"] is None and "no valid rate" in sat["P2"]["note"]
    # every rate offered met the SLO: a lower bound, said as such
    assert sat["P3"]["saturation_ops_s"] == 5.0 and not sat["P3"]["reached"]
    assert sat["P3"]["note"] == "not reached below 5 ops/s" and sat["P3"]["past_ops_s"] is None
    # too many failed ops disqualify a rate even within the SLO
    bad = w.saturation(w.curves([_step("P1", 2, 0.005, ok=380, missed=10)], {}, ENV, {}, SPEC), w.Slo(0.100))
    assert bad[0]["saturation_ops_s"] is None


def test_an_slo_per_query_class_holds_each_class_to_its_own_bound():
    rng = np.random.default_rng(5)
    def mixed(dash_s, analytics_s, reports):  # 300 dashboard ops, 100 analytics, a few reports
        return {"Q12": rng.exponential(dash_s, 300), "Q7": rng.exponential(analytics_s, 100),
                "Q9": np.full(reports, 2.0)}
    steps = [_step("P1", 2, 0, per_query=mixed(0.02, 1.0, 3)), _step("P1", 4, 0, per_query=mixed(0.05, 1.5, 3)),
             _step("P1", 8, 0, per_query=mixed(0.6, 3.0, 3))]
    rows = w.step_rows([s | {"kind": "load_step"} for s in steps])  # what a trial's summary keeps of its records
    curve = w.curves(rows, {}, ENV, {}, SPEC)
    by_rate = {c["offered_ops_s"]: c for c in curve}
    c4 = by_rate[4.0]["classes"]
    want = hdr.merge([rows[1]["per_query"]["Q7"][0]])
    assert c4["analytics"]["n"] == 100 and c4["analytics"]["p95_s"] == want.get_value_at_percentile(95) / 1e6
    assert c4["reports"]["p95_s"] is None and math.isclose(c4["reports"]["max_s"], 2.0, rel_tol=1e-3)  # 3 ops: no p95, the slowest op stands
    assert by_rate[4.0]["response_p95_s"] > 1.0  # one bound over the whole mix is held to its analytics
    assert w.saturation(curve, w.Slo.of(1000))[0]["saturation_ops_s"] is None
    slo = w.Slo.of({"dashboard": 500, "analytics": 10000, "reports": 5000})
    (sat,) = w.saturation(curve, slo)
    assert sat["saturation_ops_s"] == 4.0 and sat["reached"] and sat["past_ops_s"] == 8.0
    assert "not at 8 (dashboard p95" in sat["note"] and sat["slo_ms"] == "dashboard 500 / analytics 10000 / reports 5000"
    assert "reports 2,001 (max of 3)" in w.class_text(c4)  # HdrHistogram keeps 3 digits
    # the slowest op of a thin class is held to its bound: reports at 2 s fail a 1-s bound at every rate
    strict = w.saturation(curve, w.Slo.of({"dashboard": 500, "analytics": 10000, "reports": 1000}))[0]
    assert strict["saturation_ops_s"] is None and "reports max of 3 2001 ms > 1000 ms" in strict["note"]


def test_score_follows_clickbench_with_failed_cells_penalised_and_client_bound_dropped():
    rows = [_step("P1", 2, 0.010, seed=3), _step("P2", 2, 0.040, seed=3),  # cell 2/s: P1 best
            _step("P1", 5, 0.010, seed=4), _step("P2", 5, 0.010, seed=4, ok=300),  # cell 5/s: P2 failed (25 %)
            _step("P1", 10, 0.010, valid=False), _step("P2", 10, 0.010)]  # cell 10/s: client-bound, dropped
    curve = w.curves(rows, {}, ENV, {}, SPEC)
    p95 = {(c["scenario"], c["offered_ops_s"]): c["response_p95_s"] for c in curve}
    got = {s["scenario"]: s for s in w.scores(w.cells_from_curves(curve, SPEC), 30.0)}
    assert got["P1"]["cells"] == 2 and got["P1"]["dropped_cells"] == 1
    r2 = (0.010 + p95[("P2", 2.0)]) / (0.010 + p95[("P1", 2.0)])
    r5 = (0.010 + 30.0) / (0.010 + p95[("P1", 5.0)])  # the failed cell counts as the timeout
    assert math.isclose(got["P2"]["score"], math.sqrt(r2 * r5), rel_tol=1e-9)
    assert math.isclose(got["P1"]["score"], 1.0) and got["P2"]["failed_cells"] == 1
    # a step too thin for a p95 (< 20 ok ops) is no failure: the cell is dropped for every scenario
    few = _step("P1", 1, 0.010, ok=15) | {"ops": 15}  # 15 ops, all ok: an error rate of 0, no p95
    thin = w.curves(rows + [few, _step("P2", 1, 0.010)], {}, ENV, {}, SPEC)
    again = {s["scenario"]: s for s in w.scores(w.cells_from_curves(thin, SPEC), 30.0)}
    assert again["P2"]["dropped_cells"] == 2 and again["P2"]["score"] == got["P2"]["score"]
    # a scenario whose trial failed at the level (no step at all) is scored failed everywhere, not left out
    key = next(iter(w.cells_from_curves(curve, SPEC)))
    more = w.scores(w.cells_from_curves(curve, SPEC), 30.0, {key: {"O1"}})
    o1 = next(s for s in more if s["scenario"] == "O1")
    assert o1["failed_cells"] == o1["cells"] == 2 and o1["score"] > got["P2"]["score"]


def test_results_of_two_machines_never_share_a_curve_or_a_score():
    rows = [_step("P1", 5, 0.010, node="n1"), _step("P1", 5, 0.010, node="n2", trial="t2")]
    curve = w.curves(rows, {}, ENV, {}, SPEC)
    assert len(curve) == 2 and len({c["machine"] for c in curve}) == 2 and all(c["repetitions"] == 1 for c in curve)
    assert len({(s["machine"]) for s in w.scores(w.cells_from_curves(curve, SPEC), 30.0)}) == 2
    other = dict(SPEC, workload=dict(SPEC["workload"], mix={"weights": {"Q6": 1, "Q1": 1}}))
    assert w.protocol_key(rows[0], SPEC) != w.protocol_key(rows[0], other)  # another mix is another protocol
