"""The node's worker supervisor: a dead bench or monitor worker is started again, within a limit.

`btb up` starts it in the background (`<state>/run/supervisor.pid`); it starts the node's workers and then
checks their pid files every second. A worker that died (killed, crashed) is restarted at once — a
campaign never waits for someone to run `btb up` by hand — but at most `MAX_RESTARTS` times within
`WINDOW_S` per role: a worker that keeps dying is left down (`gave-up`), with its last exit, rather than
restarted forever. A worker found alive under its pid file is adopted (whoever started it), so the
supervisor never starts a second copy. Its state is published in Redis (`btb:workers:<node>`, shown
by `btb status`) and in `<state>/run/supervisor.json`. SIGTERM (`btb down`) stops only the supervisor:
`btb down` then stops the workers themselves (warm shutdown).
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections import deque
from dataclasses import asdict, dataclass, field

from btb.config import write_private

MAX_RESTARTS = 5
WINDOW_S = 600.0
CHECK_S = 1.0


@dataclass
class RoleState:
    role: str
    pid: int | None = None
    state: str = "starting"  # running | restarting | gave-up
    restarts: int = 0
    last_exit: str = ""
    recent: deque = field(default_factory=deque)  # restart times within the window


def workers_key(node: str) -> str:
    return f"btb:workers:{node}"


class Supervisor:
    def __init__(self, settings, node: str, aggregator: bool = True, max_restarts: int = MAX_RESTARTS,
                 window_s: float = WINDOW_S):
        from btb.infra import stack

        self.s, self.node, self.stack = settings, node, stack
        self.specs = stack.worker_specs(node, aggregator, settings)
        self.max_restarts, self.window_s = max_restarts, window_s
        self.roles = {sp.role: RoleState(sp.role) for sp in self.specs}
        self.children: dict[str, subprocess.Popen] = {}
        self.stopping = False

    def check(self) -> None:
        """One round: adopt live workers, restart dead ones (within the limit), publish the state."""
        for spec in self.specs:
            st = self.roles[spec.role]
            pid = self.stack.read_worker_pid(self.s, spec.role, self.node)
            if pid and self.stack.pid_alive(pid):
                st.pid, st.state = pid, "running"
                continue
            if st.state == "gave-up":
                continue
            if st.pid is not None:  # it was running and is gone
                st.last_exit = self._exit_of(spec.role, st.pid)
            now = time.monotonic()
            while st.recent and now - st.recent[0] > self.window_s:
                st.recent.popleft()
            if st.pid is not None and len(st.recent) >= self.max_restarts:
                st.state, st.pid = "gave-up", None
                continue
            if st.pid is not None:
                st.recent.append(now)
                st.restarts += 1
                st.state = "restarting"
            self.children[spec.role] = self.stack.start_worker(self.s, spec, self.node)
            st.pid = self.children[spec.role].pid
        self.publish()

    def _exit_of(self, role: str, pid: int) -> str:
        p = self.children.get(role)
        if p is not None and p.pid == pid:
            code = p.wait(timeout=5)
            return f"signal {-code}" if code < 0 else f"exit code {code}"
        return "gone (not started by this supervisor: exit status unknown)"

    def state(self) -> dict:
        return {"node": self.node, "t": time.time(), "max_restarts": self.max_restarts, "window_s": self.window_s,
                "workers": {r: {k: v for k, v in asdict(st).items() if k != "recent"} for r, st in self.roles.items()}}

    def publish(self) -> None:
        doc = json.dumps(self.state())
        write_private(self.stack.run_dir(self.s) / "supervisor.json", doc)
        try:
            self.stack.redis_client(self.s).set(workers_key(self.node), doc, ex=30)
        except Exception:  # noqa: BLE001 - Redis restarting: the file still says it
            pass

    def run(self) -> None:
        signal.signal(signal.SIGTERM, lambda *_: setattr(self, "stopping", True))
        while not self.stopping:
            try:
                self.check()
            except Exception as e:  # noqa: BLE001 - keep supervising; say why in the log
                print(f"supervisor: {type(e).__name__}: {e}", file=sys.stderr, flush=True)
            time.sleep(CHECK_S)


def main() -> None:
    from btb.config import get_settings

    s = get_settings()
    aggregator = "--no-aggregator" not in sys.argv
    Supervisor(s, s.node, aggregator).run()


if __name__ == "__main__":
    main()
