"""The Celery app: broker, result backend and long-task settings in one place.

Trials run for minutes to hours, so: late acks and prefetch 1 (a busy node never holds a token another
node could use), reject on worker loss. Losing a worker never loses a trial: its lease lapses and the
sweeper re-queues it (btb.trials.board); a token redelivered after the visibility timeout claims
nothing. No result backend: every result is a keyed record in the ledger.

`wait_workers` lives here, not with the process code in `btb.infra.stack`: it asks the app (a Celery
ping), and library code never imports the app.
"""

from __future__ import annotations

import time

from celery import Celery

from btb.config import Settings, get_settings
from btb.routing import QUEUE_AGGREGATE
from btb.trials.board import TrialBoard


def make_app() -> Celery:
    s = get_settings()
    # No result backend: every result is a keyed record in the ledger (btb.results.store); Flower follows
    # tasks through events. (A Redis result backend also leaves pub/sub listeners in `btb submit`.)
    app = Celery("btb", broker=s.redis_url, backend=None, include=["btb.workflow.tasks"])
    transport = {"visibility_timeout": s.visibility_timeout_s}
    app.conf.update(
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        broker_transport_options=transport,
        broker_connection_retry_on_startup=True,
        broker_connection_retry=True,
        broker_connection_max_retries=None,  # a broker restart is waited out, never fatal to a worker
        task_track_started=True,
        task_send_sent_event=True,
        worker_send_task_events=True,
        task_ignore_result=True,
        task_default_queue=QUEUE_AGGREGATE,
        task_serializer="json",
        result_serializer="json",
        accept_content=["json"],
        worker_hijack_root_logger=False,
        worker_redirect_stdouts=False,
    )
    return app


app = make_app()


def wait_workers(s: Settings, hostnames: list[str], timeout_s: float = 60.0) -> list[str]:
    """Until every named worker answers a Celery ping (and a bench worker has registered what it can run
    on the board, which submit checks); returns those that never did. Used by `btb up` after the
    stack has started the worker processes."""
    missing = set(hostnames)
    deadline = time.monotonic() + timeout_s
    while missing and time.monotonic() < deadline:
        try:
            for reply in app.control.ping(destination=sorted(missing), timeout=1.0) or []:
                missing -= set(reply)
        except Exception:  # noqa: BLE001 - broker still starting
            time.sleep(0.5)
    if not missing and any(h.startswith("bench@") for h in hostnames):
        board = TrialBoard(s.redis_url)
        while s.node not in board.nodes() and time.monotonic() < deadline:
            time.sleep(0.2)
        if s.node not in board.nodes():
            missing.add(f"bench@{s.node} (not registered)")
    return sorted(missing)
