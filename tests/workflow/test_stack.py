"""The local stack as `btb up` starts it: real Redis with a password, real Celery workers, Flower."""

from __future__ import annotations

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


def test_flower_lists_bench_and_monitor_workers_with_queues(flower, flower_get):
    s = flower
    found = {k: [q["name"] for q in v.get("active_queues") or []]
             for k, v in flower_get(s, "/api/workers?refresh=1").items()}
    assert found[f"bench@{s.node}"][:2] == [f"node.{s.node}", "dataset"]
    assert "postgres" in found[f"bench@{s.node}"]
    assert found[f"monitor@{s.node}"] == [f"monitor.{s.node}"]
    assert found[f"aggregator@{s.node}"] == ["aggregate"]
    with pytest.raises(urllib.error.HTTPError) as e:  # no credentials, no API
        urllib.request.urlopen(f"http://{s.bind}:{s.flower_port}/api/workers", timeout=10)
    assert e.value.code == 401
