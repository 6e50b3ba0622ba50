"""The worker supervisor on real processes: a killed worker is started again, counted, and left down past
the restart limit, with a state `btb status` shows."""

from __future__ import annotations

import os
import signal

import pytest
from btbtest import wait_until

from btb.cli.progress import workers_lines
from btb.infra import stack
from btb.infra.supervise import Supervisor, workers_key

pytestmark = pytest.mark.integration


def test_a_killed_worker_is_restarted_then_given_up_past_the_limit(redis_server):
    s = redis_server
    node = "supnode"  # a node of its own, with only its monitor worker: it takes no trial of other tests
    sup = Supervisor(s, node, aggregator=False, max_restarts=1)
    sup.specs = [sp for sp in sup.specs if sp.role == "monitor"]
    sup.roles = {"monitor": sup.roles["monitor"]}
    try:
        sup.check()
        first = sup.roles["monitor"].pid
        assert first and stack.pid_alive(first)
        os.kill(first, signal.SIGKILL)
        wait_until(lambda: not stack.pid_alive(first), 10, "the worker to die")
        sup.check()
        st = sup.roles["monitor"]
        assert st.pid != first and stack.pid_alive(st.pid), st
        assert (st.state, st.restarts, st.last_exit) == ("restarting", 1, "signal 9"), st
        sup.check()  # alive under its pid file: running
        assert sup.roles["monitor"].state == "running"
        os.kill(st.pid, signal.SIGKILL)
        wait_until(lambda: not stack.pid_alive(st.pid), 10, "the worker to die again")
        sup.check()
        st = sup.roles["monitor"]
        assert st.state == "gave-up" and st.pid is None and st.restarts == 1, st
        assert stack.read_worker_pid(s, "monitor", node) is not None  # the dead one's: not restarted
        lines = [ln for ln in workers_lines(stack.redis_client(s)) if "@supnode" in ln]
        assert lines == ["worker monitor@supnode: gave-up, restarted 1× (last: signal 9) — died more than 1× "
                         "in 10 min: not restarted again; see its log, then `btb up`"], lines
    finally:
        for p in sup.children.values():
            if p.poll() is None:
                p.kill()
                p.wait()
        stack.redis_client(s).delete(workers_key(node))
