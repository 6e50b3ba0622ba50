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
    # the engine sets this node can run whole (P1/P2 need postgres, F2 falkordb+postgres, …), then its own queue
    from btb.infra.stack import engine_queues

    assert found[f"bench@{s.node}"] == [*engine_queues(s), f"node.{s.node}"]
    assert "engines.postgres" in found[f"bench@{s.node}"]
    assert found[f"monitor@{s.node}"] == [f"monitor.{s.node}"]
    assert found[f"aggregator@{s.node}"] == ["aggregate"]
    with pytest.raises(urllib.error.HTTPError) as e:  # no credentials, no API
        urllib.request.urlopen(f"http://{s.bind}:{s.flower_port}/api/workers", timeout=10)
    assert e.value.code == 401
    with pytest.raises(urllib.error.HTTPError) as e:  # Flower's metrics too (open by default in flower 2.x)
        urllib.request.urlopen(f"http://{s.bind}:{s.flower_port}/metrics", timeout=10)
    assert e.value.code == 401


def test_workers_ignore_a_btb_folder_in_the_callers_directory(redis_server, tmp_path):
    """`btb up` from a folder holding a `btb/` directory still starts workers that run the installed btb."""
    import subprocess

    from btb.infra import stack

    (tmp_path / "btb").mkdir()
    (tmp_path / "btb" / "__init__.py").write_text("raise ImportError('the wrong btb')\n")
    env = stack.worker_env(redis_server, "x")
    out = subprocess.run([*stack.worker_argv(stack.WorkerSpec("bench", ("q",), 1), "x", redis_server)[:1], "-c",
                          "import btb, sys; print(btb.__file__)"], cwd=stack.worker_cwd(redis_server), env=env,
                         capture_output=True, text=True)
    assert out.returncode == 0 and str(tmp_path) not in out.stdout, out.stderr
