"""The timed window of `Scenario.run`: only `timed()` is measured; the watchdog is one long-lived thread
that cancels a runaway query and never a later one. No engine needed: a scripted scenario."""

from __future__ import annotations

import threading
import time

from btb.engines.base import Answer, RunOptions, Scenario, Unsupported


class Scripted(Scenario):
    id = "T"
    engines = ()

    def __init__(self, timeout_s: float = 60.0, bind_s: float = 0.0, canon_s: float = 0.0):
        super().__init__({}, RunOptions(timeout_s=timeout_s))
        self.bind_s, self.canon_s = bind_s, canon_s
        self.cancelled = threading.Event()
        self.cancels = 0

    def ingest(self, dataset_dir):  # pragma: no cover - not used
        raise NotImplementedError

    def counts(self):  # pragma: no cover - not used
        return {}

    def bind(self, qid, params):
        time.sleep(self.bind_s)
        if qid == "Q13":
            raise Unsupported("no Q13 here")
        return params

    def timed(self, qid, bound):
        if bound.get("hang"):
            if not self.cancelled.wait(30):
                return Answer([("never cancelled",)])
            self.cancelled.clear()
            raise RuntimeError("query cancelled by the client")
        time.sleep(bound.get("sleep", 0.0))
        return Answer([(2,), (1,)])

    def canonical(self, qid, answer):
        time.sleep(self.canon_s)
        return Answer(sorted(answer.rows), answer.phases)

    def execute(self, qid, params):
        return self.canonical(qid, self.timed(qid, self.bind(qid, params)))

    def cancel(self):
        self.cancels += 1
        self.cancelled.set()


def test_binding_and_canonical_form_are_outside_the_measured_time():
    s = Scripted(bind_s=0.05, canon_s=0.05)
    out = s.run("Q3", {"sleep": 0.01})
    s.close()
    assert out.status == "ok" and out.rows == [(1,), (2,)]
    assert 0.009 <= out.seconds < 0.04, out.seconds


def test_one_watchdog_thread_serves_every_query():
    s = Scripted()
    before = threading.active_count()
    for _ in range(200):
        assert s.run("Q3", {}).status == "ok"
    assert threading.active_count() <= before + 1
    assert len([t for t in threading.enumerate() if t.name == "btb-watchdog"]) >= 1
    s.close()


def test_watchdog_cancels_a_runaway_query_and_not_the_next_one():
    s = Scripted(timeout_s=0.2)  # fires at timeout + max(1 s, 10 %) = 1.2 s (+ one poll)
    t0 = time.monotonic()
    out = s.run("Q3", {"hang": True})
    took = time.monotonic() - t0
    assert out.status == "timeout" and "client watchdog" in out.message, out
    assert 1.1 < took < 2.0, took
    assert s.cancels == 1
    nxt = s.run("Q3", {"sleep": 0.01})
    assert nxt.status == "ok" and s.cancels == 1
    s.close()


def test_unsupported_and_bad_bindings_are_statuses():
    s = Scripted()
    assert s.run("Q13", {}).status == "unsupported"
    s.close()


def test_an_engine_memory_limit_is_status_oom_not_error():
    from btb.engines.base import QueryOutOfMemory

    class Capped(Scripted):
        def timed(self, qid, bound):
            raise QueryOutOfMemory("FalkorDB QUERY_MEM_CAPACITY exceeded")

    s = Capped()
    out = s.run("Q1", {})
    assert out.status == "oom" and "QUERY_MEM_CAPACITY" in out.message and out.seconds >= 0
    s.close()
