"""One way to open Redis for btb's own state (ledger, trial board): with retries, so a broker restart
(seconds) is ridden out instead of failing a task. Every write btb retries is idempotent (HSETNX keyed
records, compare-and-set Lua on leases), so a retried command never duplicates a result."""

from __future__ import annotations

import redis
from redis.backoff import ExponentialBackoff
from redis.exceptions import BusyLoadingError, ConnectionError, TimeoutError
from redis.retry import Retry

RETRY_ATTEMPTS = 40  # with a 2 s cap: rides out a broker outage of about a minute


def connect(url: str, *, binary: bool = False) -> redis.Redis:
    return redis.Redis.from_url(
        url, decode_responses=not binary, socket_connect_timeout=3, socket_timeout=30, health_check_interval=15,
        retry=Retry(ExponentialBackoff(cap=2.0, base=0.05), RETRY_ATTEMPTS),
        retry_on_error=[ConnectionError, TimeoutError, BusyLoadingError])
