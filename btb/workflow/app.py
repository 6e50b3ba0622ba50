"""The Celery app: broker, result backend and long-task settings in one place.

Trials run for minutes to hours, so: late acks (a killed worker's task is redelivered, not lost),
prefetch 1 (a node never hoards trials another node could run), reject on worker loss, and a Redis
visibility timeout above the longest task (else Redis redelivers a task that is still running).
"""

from __future__ import annotations

from celery import Celery

from btb.config import get_settings

QUEUE_DATASET = "dataset"
QUEUE_AGGREGATE = "aggregate"


def node_queue(node: str) -> str:
    return f"node.{node}"


def monitor_queue(node: str) -> str:
    return f"monitor.{node}"


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
        task_track_started=True,
        task_send_sent_event=True,
        worker_send_task_events=True,
        task_ignore_result=True,
        task_default_queue=QUEUE_DATASET,
        task_serializer="json",
        result_serializer="json",
        accept_content=["json"],
        worker_hijack_root_logger=False,
        worker_redirect_stdouts=False,
    )
    return app


app = make_app()
