"""Trials as state, free of Celery: their lifecycle (statuses and transitions) and the board in Redis
(plan-ordered pending queues, leases, fenced records). The workflow, results and CLI all read it."""
