"""The local stack as `btb up` starts it: real Redis with a password, real Celery workers, Flower."""

from __future__ import annotations

import time

import urllib.error
import urllib.request

import pytest
import redis

pytestmark = pytest.mark.integration


def test_redis_requires_the_password(redis_server):
    s = redis_server
    with pytest.raises(redis.AuthenticationError):
        redis.Redis(host=s.redis_host, port=s.redis_port, password="wrong").ping()
    with pytest.raises((redis.AuthenticationError, redis.ResponseError)):
        redis.Redis(host=s.redis_host, port=s.redis_port).set("x", 1)
    assert redis.Redis.from_url(s.redis_url).ping()


def test_flower_lists_bench_and_monitor_workers_with_queues(workers, flower_get):
    from btb.infra import stack

    s = workers
    stack.start_flower(s)
    url = f"http://{s.bind}:{s.flower_port}/api/workers?refresh=1"
    deadline = time.time() + 60
    found = {}
    while time.time() < deadline:
        try:
            data = flower_get(url, s)
            found = {k: [q["name"] for q in v.get("active_queues") or []] for k, v in data.items()}
            if {f"bench@{s.node}", f"monitor@{s.node}"} <= set(found) and all(found.values()):
                break
        except (urllib.error.URLError, ConnectionError):
            pass
        time.sleep(1)
    assert found.get(f"bench@{s.node}", [])[:2] == [f"node.{s.node}", "dataset"]
    assert "postgres" in found[f"bench@{s.node}"]
    assert found.get(f"monitor@{s.node}") == [f"monitor.{s.node}"]
    with pytest.raises(urllib.error.HTTPError) as e:  # no credentials, no API
        urllib.request.urlopen(url, timeout=10)
    assert e.value.code == 401
