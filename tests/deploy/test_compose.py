"""compose.workers.yml as a server runs it, on this machine's Docker engine with the locally built images:
it refuses to start without its secrets, comes up from one env file, refuses unauthenticated Redis and
Flower access; a second node joins with the workers only (`up --no-deps worker`, its own env file); a
campaign submitted from the host with `btb submit --wait` runs on both; both come down clean. These are
the README's commands ("Run on a server", "Add a second node")."""

from __future__ import annotations

import base64
import json
import os
import secrets
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from btbtest import wait_until

from btb.infra.ports import free_port

REPO = Path(__file__).resolve().parents[2]
COMPOSE = REPO / "compose.workers.yml"
EXAMPLE = REPO / "config" / "btb.env.example"
pytestmark = pytest.mark.integration


def _env_file(path: Path, **values: str) -> Path:
    """The example config with `values` set: what an operator's config/btb.env is."""
    lines = EXAMPLE.read_text().splitlines()
    keys = set(values)
    out = [ln for ln in lines if ln.split("=", 1)[0].lstrip("# ").strip() not in keys]
    path.write_text("\n".join(out + [f"{k}={v}" for k, v in values.items()]) + "\n")
    path.chmod(0o600)
    return path


def _host_env(config: Path, tmp: Path) -> dict[str, str]:
    """The host's `btb` configured by the same env file only (the test session's BTB_* removed)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("BTB_")}
    return env | {"BTB_CONFIG": str(config), "BTB_STATE_DIR": str(tmp / "host-state"),
                  "BTB_RESULTS_DIR": str(tmp / "results")}


def _compose(compose_bin: str, project: str, config: Path, *args: str, timeout: float = 600):
    env = {k: v for k, v in os.environ.items() if not k.startswith("BTB_")} | {"BTB_CONFIG": str(config)}
    return subprocess.run([compose_bin, "-p", project, "--env-file", str(config), "-f", str(COMPOSE), *args],
                          capture_output=True, text=True, timeout=timeout, env=env, cwd=REPO)


def _http_status(url: str, auth: tuple[str, str] | None = None) -> int:
    req = urllib.request.Request(url)
    if auth:
        req.add_header("Authorization", "Basic " + base64.b64encode(":".join(auth).encode()).decode())
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code


def test_compose_refuses_to_start_without_its_secrets(compose_bin, tmp_path):
    cfg = tmp_path / "btb.env"
    cfg.write_text(EXAMPLE.read_text())  # as shipped: both secrets empty
    r = _compose(compose_bin, "btbnosecret", cfg, "config", timeout=60)
    assert r.returncode != 0 and "set BTB_REDIS_PASSWORD in config/btb.env" in r.stderr, r.stderr
    _env_file(cfg, BTB_REDIS_PASSWORD="x" * 12)
    r = _compose(compose_bin, "btbnosecret", cfg, "config", timeout=60)
    assert r.returncode != 0 and "set BTB_FLOWER_PASSWORD in config/btb.env" in r.stderr, r.stderr
    _env_file(cfg, BTB_REDIS_PASSWORD="x" * 12, BTB_FLOWER_PASSWORD="y" * 12)
    r = _compose(compose_bin, "btbnosecret", cfg, "config", timeout=60)
    assert r.returncode == 0, r.stderr


def test_compose_comes_up_refuses_strangers_and_runs_a_campaign_on_two_nodes(compose_bin, worker_images, tmp_path):
    redis_port, flower_port = free_port(), free_port()
    node, node_b, flower_pw = f"compose{redis_port}", f"compose{redis_port}b", secrets.token_hex(12)
    common = dict(BTB_REDIS_PASSWORD=secrets.token_hex(12), BTB_FLOWER_PASSWORD=flower_pw,
                  BTB_REDIS_PORT=str(redis_port), BTB_FLOWER_PORT=str(flower_port),
                  BTB_PG_PORT=str(free_port(25400)), BTB_REDIS_IMAGE=worker_images["redis"],
                  BTB_VERSION=worker_images["worker"].split(":", 1)[1])
    cfg = _env_file(tmp_path / "btb.env", BTB_NODE=node, **common)
    (tmp_path / "b").mkdir()
    cfg_b = _env_file(tmp_path / "b" / "btb.env", BTB_NODE=node_b, BTB_AGGREGATOR="0", **common)
    project, project_b = f"btbtest{redis_port}", f"btbtest{redis_port}b"
    env = _host_env(cfg, tmp_path)
    try:
        t0 = time.monotonic()
        up = _compose(compose_bin, project, cfg, "up", "-d")
        assert up.returncode == 0, up.stderr[-3000:]
        from btb.trials.board import TrialBoard

        url = f"redis://:{_read(cfg, 'BTB_REDIS_PASSWORD')}@127.0.0.1:{redis_port}/0"
        wait_until(lambda: _registered(url, node), 180, f"bench@{node} to register with the compose broker", 1)
        flower = f"http://127.0.0.1:{flower_port}"
        wait_until(lambda: _flower_lists(flower, ("btb", flower_pw), node), 120, "Flower to list the workers", 1)
        print(f"\ncompose up to ready: {time.monotonic() - t0:.1f} s")
        # node B: the workers only, against node A's Redis (here the same host's loopback)
        up = _compose(compose_bin, project_b, cfg_b, "up", "-d", "--no-deps", "worker")
        assert up.returncode == 0, up.stderr[-3000:]

        # strangers are refused: Redis without its password, Flower (API and metrics) without basic auth
        cli = subprocess.run(["redis-cli", "-p", str(redis_port), "ping"], capture_output=True, text=True, timeout=30)
        assert "NOAUTH" in cli.stdout + cli.stderr, cli
        assert _http_status(f"{flower}/api/workers") == 401
        assert _http_status(f"{flower}/metrics") == 401
        assert _http_status(f"{flower}/api/workers", ("btb", "wrong")) == 401
        assert _http_status(f"{flower}/api/workers", ("btb", flower_pw)) == 200

        wait_until(lambda: _registered(url, node_b), 180, f"bench@{node_b} to register", 1)
        seen = wait_until(lambda: (w := _flower_workers(flower, ("btb", flower_pw))) >= {f"bench@{node_b}",
                          f"monitor@{node_b}"} and w, 120, "Flower to list node B's workers", 1)
        assert f"aggregator@{node_b}" not in seen  # BTB_AGGREGATOR=0: one aggregator per broker
        camp = tmp_path / "compose.yaml"
        camp.write_text(f"""
name: compose
datasets: [{{profile: tiny-1d, seed: 5}}]
scenarios: [P1]
memory: {{levels: [unlimited, 1GiB]}}
protocol: {{warmups: 0, runs: 10, timeout_s: 30, bindings: 1, validate: false}}
queries: [Q1, Q7]
output_dir: {tmp_path / 'results'}
""")
        r = subprocess.run([sys.executable, "-m", "btb.cli.main", "submit", str(camp), "--wait", "--timeout", "300"],
                           capture_output=True, text=True, timeout=400, env=env, cwd=tmp_path)
        assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
        (out,) = (tmp_path / "results").iterdir()
        summary = json.loads((out / "summary.json").read_text())
        trials = summary["trials"].values()
        assert {t["status"] for t in trials} == {"completed"}, summary["trials"]
        assert {t["node"] for t in trials} == {node, node_b}, summary["trials"]
        assert TrialBoard(url).nodes()[node]["engine_sets"], "the container's worker registered no engine set"
    finally:
        logs = _compose(compose_bin, project, cfg, "logs", "--no-color", "--tail", "40", timeout=120)
        downs = [_compose(compose_bin, p, c, "down", "-v", "--remove-orphans", timeout=600)
                 for p, c in ((project_b, cfg_b), (project, cfg))]
        assert all(d.returncode == 0 for d in downs), [d.stderr[-2000:] for d in downs]
    for p in (project, project_b):
        left = subprocess.run(["docker", "ps", "-aq", "--filter", f"label=com.docker.compose.project={p}"],
                              capture_output=True, text=True).stdout.split()
        assert not left, f"containers of {p} left after down: {left}\n{logs.stdout[-3000:]}"


def _read(cfg: Path, key: str) -> str:
    return next(ln.split("=", 1)[1] for ln in cfg.read_text().splitlines() if ln.startswith(f"{key}="))


def _registered(url: str, node: str) -> bool:
    import redis

    from btb.trials.board import TrialBoard

    try:
        return node in TrialBoard(url).nodes()
    except redis.RedisError:
        return False


def _flower_workers(flower: str, auth: tuple[str, str]) -> set[str]:
    req = urllib.request.Request(f"{flower}/api/workers?refresh=1")
    req.add_header("Authorization", "Basic " + base64.b64encode(":".join(auth).encode()).decode())
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return set(json.loads(r.read()))
    except (urllib.error.URLError, ConnectionError, ValueError):
        return set()


def _flower_lists(flower: str, auth: tuple[str, str], node: str) -> bool:
    return {f"bench@{node}", f"monitor@{node}", f"aggregator@{node}"} <= _flower_workers(flower, auth)
