"""`btb up`, `btb down`, `btb worker`: the local stack and this node's workers (logic in btb.infra.stack)."""

from __future__ import annotations

import os
import signal
import subprocess
import time

import typer

from btb.cli.common import console, fail, require_broker
from btb.config import get_settings


def up(workers: bool = typer.Option(True, help="also start this node's workers"),
       flower: bool = typer.Option(True, help="also start Flower")) -> None:
    """Start the local stack: Redis (loopback, password, AOF), this node's workers, Flower (basic auth)."""
    from btb.infra import stack
    from btb.infra.supervise import MAX_RESTARTS, WINDOW_S

    s = get_settings()
    try:
        console.print(f"redis     {s.redis_host}:{s.redis_port}  {stack.start_redis(s)}")
        if workers:
            from btb.trials.board import TrialBoard
            from btb.workflow.app import wait_workers

            TrialBoard(s.redis_url).clear_flag(f"drain:{s.node}")  # `btb down` drained it: take trials again
            specs = stack.worker_specs(s.node, aggregator=True)
            console.print(f"supervisor {stack.start_supervisor(s, s.node)} (restarts a dead worker, "
                          f"{MAX_RESTARTS}× per {WINDOW_S / 60:.0f} min at most)")
            for spec in specs:
                console.print(f"worker    {spec.hostname(s.node)}  queues: {', '.join(spec.queues)}")
            silent = wait_workers(s, [w.hostname(s.node) for w in specs])
            if silent:
                fail(f"worker(s) {', '.join(silent)} did not answer within 60 s; see {s.state_dir / 'logs'}")
        if flower:
            console.print(f"flower    http://{s.bind}:{s.flower_port}  {stack.start_flower(s)} "
                          f"(user {s.flower_user}, password in {s.secrets_file})")
            if workers:
                hosts = [w.hostname(s.node) for w in stack.worker_specs(s.node, aggregator=True)]
                if not stack.wait_flower(s, hosts):
                    fail(f"Flower does not list the workers after 60 s; see {s.state_dir / 'logs'}")
        console.print("ready     every worker answers" + (" and Flower lists them" if flower and workers else ""))
    except stack.StackError as e:
        fail(str(e))
    console.print(f"state     {s.state_dir}   logs: {s.state_dir / 'logs'}")


def down() -> None:
    """Stop the local stack: drain this node (a running trial stops between two runs and is queued again,
    so `btb up` resumes it), workers (warm shutdown), Flower, leftover trial engines, Redis."""
    from btb.infra import stack
    from btb.infra.factory import make_provider
    from btb.trials.board import TrialBoard

    s = get_settings()
    if stack.redis_up(s):
        TrialBoard(s.redis_url).set_flag(f"drain:{s.node}")
    stack.stop_pidfiles(s, "supervisor.pid")  # first: it would restart the workers being stopped
    for name in stack.stop_pidfiles(s, "worker-*.pid", timeout_s=120) + stack.stop_pidfiles(s, "flower.pid"):
        console.print(f"stopped   {name}")
    provider = make_provider(s, s.node)
    for tid in provider.trials():
        provider.stop(tid)
        console.print(f"engines   {tid} stopped")
    console.print(f"redis     {stack.stop_redis(s)}")


def worker(node: str = typer.Option(None, help="node name (default: BTB_NODE or the host name)"),
           broker: str = typer.Option(None, help="redis://:PASSWORD@HOST:PORT/0 of the campaign's broker"),
           aggregator: bool = typer.Option(False, envvar="BTB_AGGREGATOR",
                                           help="also run an aggregator worker on this node (one per campaign "
                                                "broker is enough; compose sets it from BTB_AGGREGATOR)")) -> None:
    """Run this node's bench and monitor workers in the foreground (Ctrl-C stops them).

    A second server joins a running campaign by running this against the same broker.
    """
    from btb.infra import stack

    if broker:
        os.environ["BTB_BROKER_URL"] = broker
    if node:
        os.environ["BTB_NODE"] = node
    get_settings.cache_clear()
    s = require_broker()
    from btb.infra.supervise import MAX_RESTARTS, WINDOW_S

    specs = stack.worker_specs(s.node, aggregator)
    procs = {}
    for spec in specs:
        console.print(f"worker {spec.hostname(s.node)}  queues: {', '.join(spec.queues)}")
        procs[spec.role] = subprocess.Popen(stack.worker_argv(spec, s.node, s), env=stack.worker_env(s, s.node),
                                            cwd=stack.worker_cwd(s))
    stopping = []

    def _stop(*_):
        stopping.append(1)
        for p in procs.values():
            p.send_signal(signal.SIGTERM)

    signal.signal(signal.SIGTERM, _stop)
    restarts: dict[str, list[float]] = {sp.role: [] for sp in specs}
    try:  # a dead worker is started again, MAX_RESTARTS× per window at most; then this exits non-zero
        while not stopping:
            for spec in specs:
                code = procs[spec.role].poll()
                if code is None or stopping:
                    continue
                now = time.monotonic()
                recent = restarts[spec.role] = [t for t in restarts[spec.role] if now - t < WINDOW_S] + [now]
                if len(recent) > MAX_RESTARTS:
                    console.print(f"worker {spec.hostname(s.node)} died {len(recent)}× within {WINDOW_S:.0f} s "
                                  f"(last exit {code}): giving up")
                    _stop()
                    raise typer.Exit(1)
                console.print(f"worker {spec.hostname(s.node)} died (exit {code}): restarted")
                procs[spec.role] = subprocess.Popen(stack.worker_argv(spec, s.node, s),
                                                    env=stack.worker_env(s, s.node), cwd=stack.worker_cwd(s))
            time.sleep(0.5)
    except KeyboardInterrupt:
        _stop()
    codes = [p.wait() for p in procs.values()]
    raise typer.Exit(1 if any(codes) else 0)
