"""Coordinated omission, shown on a real, deliberately slowed PostgreSQL (tests/workload/sleepy.py: 20 ms
queries, one 1 s stall every 150 queries). Open loop at 20 ops/s: the ops due during and after the stall
wait for it, so the response time (from the intended start) has a p99 far above the service time's. The
closed loop with the same client waits for each answer before it sends the next: its figures are service
times only, the stall is one op among hundreds, and its p99 says nothing of the users kept waiting."""

from __future__ import annotations

import uuid
from functools import partial

import pytest
from btbtest import scratch_provider
from sleepy import SleepyScenario

from btb.infra.local import LocalProvider
from btb.workload.step import StepPlan, run_step


@pytest.fixture(scope="module")
def pg():
    """The Endpoint of one real PostgreSQL (unlimited budget), started by the local provider for the module."""
    for provider in scratch_provider(lambda root: LocalProvider(root, "cotest"), "btb-test-co-"):
        trial = f"test-co-{uuid.uuid4().hex[:8]}"
        yield provider.start(trial, ("postgres",), None).endpoints["postgres"]
        provider.stop(trial)


def _plan(loop: str, rate: float | None) -> StepPlan:
    return StepPlan("mix", loop, 1, rate, 0, seed=3, burn_in_s=1.0, duration_s=10.0, drain_s=5.0,
                    tolerance_s=0.050, on_schedule=0.95, weights={"Q6": 1.0}, bindings={"Q6": [{"point": "p"}]})


def test_open_loop_shows_the_queue_the_closed_loop_hides(pg):
    make = partial(SleepyScenario, {"postgres": pg})
    open_ = run_step(_plan("open", 20.0), make)
    closed = run_step(_plan("closed", None), make)
    o, c = open_["summary"], closed["summary"]
    for name, r in (("open 20/s", open_), ("closed", closed)):  # shown with pytest -s
        s = r["summary"]
        print(f"{name}: {r['ok']} ops, {r['achieved_ops_s']:.1f}/s, {r['verdict']}; response p50/p95/p99 "
              + "/".join(f"{1e3 * s['response'][k]:.1f}" for k in ("p50", "p95", "p99")) + " ms; service "
              + "/".join(f"{1e3 * s['service'][k]:.1f}" for k in ("p50", "p95", "p99")) + " ms")
    # open loop: every scheduled op ran, on schedule (the generator kept up: the wait is the engine's)
    assert open_["verdict"] == "valid", open_["why"]
    assert open_["ok"] == open_["ops"] == 200 and open_["missed"] == 0
    assert o["service"]["p99"] < 0.2, o["service"]  # the stall is one op of 200: service p99 is a 20 ms query
    assert o["response"]["p99"] > 0.5, o["response"]  # the ops queued behind the stall waited most of a second
    assert o["response"]["p99"] > 5 * o["service"]["p99"]
    assert o["response"]["p95"] > 2 * o["service"]["p95"]  # not one outlier: a share of the users waited
    # closed loop, same client, same engine: response is service, the stall shows in max only
    assert closed["verdict"] == "valid", closed["why"]
    assert c["response"]["p99"] == c["service"]["p99"] < 0.2
    assert c["response"]["max"] > 0.9  # the stall happened in the closed loop too ...
    assert c["response"]["p99"] * 3 < o["response"]["p99"]  # ... but its p99 hides what users at 20/s saw
    assert closed["achieved_ops_s"] > open_["achieved_ops_s"]  # it ran faster, unpaced: not the same load
