"""The local stack: Redis (broker + result backend + ledger, AOF on), a node's Celery workers, Flower.

Processes are tracked by pid files under `<state>/run/`; secrets go to the processes through the
environment or 0600 config files, never through argv (visible in `ps`) or logs.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import redis

from btb.config import PRIVATE_UMASK, Settings, private_dir, write_private
from btb.routing import QUEUE_AGGREGATE, engine_set_queue, monitor_queue, node_queue, runnable_engine_sets


class StackError(RuntimeError):
    pass


def _run_dir(s: Settings) -> Path:
    private_dir(s.state_dir)
    return private_dir(s.state_dir / "run")


def _log_dir(s: Settings) -> Path:
    private_dir(s.state_dir)
    return private_dir(s.state_dir / "logs")


def _log(path: Path):
    """A log file only btb's user reads (0600 from its creation on), appended to."""
    return os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600), "ab")


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    try:  # a zombie child counts as gone
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ", 1)[1][0] != "Z"
    except OSError:
        return True


def _read_pid(path: Path) -> int | None:
    try:
        return int(path.read_text().strip())
    except (OSError, ValueError):
        return None


# --- Redis -------------------------------------------------------------------------------------
def redis_client(s: Settings) -> redis.Redis:
    """A probe client (is Redis up? shut it down): no retries, so a Redis that is down (or going down) is
    known at once instead of after redis-py 8's 10 retries with backoff (~3 s)."""
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    return redis.Redis.from_url(s.redis_url, socket_connect_timeout=2, retry=Retry(NoBackoff(), 0))


def redis_up(s: Settings) -> bool:
    try:
        return bool(redis_client(s).ping())
    except redis.RedisError:
        return False


def start_redis(s: Settings) -> str:
    if redis_up(s):
        return "already running"
    exe = shutil.which("redis-server")
    if not exe:
        raise StackError("redis-server not found: install it (Debian: apt-get install -y redis-server)")
    data = _run_dir(s).parent / "redis"
    private_dir(data)  # the ledger (AOF) lives here
    conf = data / "redis.conf"
    write_private(conf, "\n".join([
        f"port {s.redis_port}", f"bind {s.redis_host}", f"requirepass {s.redis_password}",
        f"dir {data}", "appendonly yes", "appendfsync everysec", 'save ""', "daemonize yes",
        f"pidfile {_run_dir(s) / 'redis.pid'}", f"logfile {_log_dir(s) / 'redis.log'}",
        "protected-mode yes", ""]))
    r = subprocess.run([exe, str(conf)], capture_output=True, text=True, umask=PRIVATE_UMASK)
    if r.returncode != 0:
        raise StackError(f"redis-server failed: {r.stderr.strip() or r.stdout.strip()}")
    for _ in range(100):
        if redis_up(s):
            return "started"
        time.sleep(0.05)
    raise StackError(f"redis-server did not answer on {s.redis_host}:{s.redis_port}; see {_log_dir(s) / 'redis.log'}")


def stop_redis(s: Settings) -> str:
    if not redis_up(s):
        return "not running"
    try:
        redis_client(s).shutdown(nosave=False)
    except redis.ConnectionError:
        pass  # shutdown closes the connection
    return "stopped"


# --- Celery workers ----------------------------------------------------------------------------
@dataclass(frozen=True)
class WorkerSpec:
    role: str  # bench | monitor | aggregator
    queues: tuple[str, ...]
    concurrency: int

    def hostname(self, node: str) -> str:
        return f"{self.role}@{node}"


def engine_queues(settings: Settings | None = None) -> list[str]:
    """Queues of every engine set this node can run whole (its provider's available engine kinds)."""
    from btb.infra.factory import make_provider

    s = settings or _settings()
    caps = make_provider(s, s.node).capabilities()
    return [engine_set_queue(e) for e in runnable_engine_sets(k for k, c in caps.items() if c.available)]


def _settings() -> Settings:
    from btb.config import get_settings

    return get_settings()


def worker_specs(node: str, aggregator: bool, settings: Settings | None = None) -> list[WorkerSpec]:
    specs = [
        # one trial at a time per node: the bench worker runs a whole trial in one task
        WorkerSpec("bench", (*engine_queues(settings), node_queue(node)), 1),
        WorkerSpec("monitor", (monitor_queue(node),), 2),
    ]
    if aggregator:
        specs.append(WorkerSpec("aggregator", (QUEUE_AGGREGATE,), 1))
    return specs


def worker_env(s: Settings, node: str) -> dict[str, str]:
    """Workers import btb from the installed package, never from the caller's directory (PYTHONSAFEPATH
    and a cwd in the state dir): a folder named `btb/` where `btb up` runs cannot shadow it."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    env.update(BTB_NODE=node, BTB_STATE_DIR=str(s.state_dir), BTB_BROKER_URL=s.redis_url,
               BTB_RESULTS_DIR=str(s.results_dir.resolve()), PYTHONSAFEPATH="1")
    return env


def worker_cwd(s: Settings) -> Path:
    d = s.state_dir / "run"
    d.mkdir(parents=True, exist_ok=True)
    return d


def worker_argv(spec: WorkerSpec, node: str, s: Settings) -> list[str]:
    return [sys.executable, "-m", "celery", "-A", "btb.workflow.app", "worker", "-Q", ",".join(spec.queues),
            "-c", str(spec.concurrency), "--pool", "prefork", "-n", spec.hostname(node), "-E",
            "--loglevel", "INFO", "--without-gossip", "--without-mingle"]


def start_workers(s: Settings, node: str, aggregator: bool = True) -> list[subprocess.Popen]:
    """Start the node's workers in the background (pid files); a worker alive under its pid file stays."""
    procs = []
    for spec in worker_specs(node, aggregator):
        pid = read_worker_pid(s, spec.role, node)
        if pid and _pid_alive(pid):
            continue
        procs.append(start_worker(s, spec, node))
    return procs


def read_worker_pid(s: Settings, role: str, node: str) -> int | None:
    return _read_pid(_run_dir(s) / f"worker-{role}-{node}.pid")


def pid_alive(pid: int) -> bool:
    return _pid_alive(pid)


def run_dir(s: Settings) -> Path:
    return _run_dir(s)


def start_worker(s: Settings, spec: WorkerSpec, node: str) -> subprocess.Popen:
    log = _log(_log_dir(s) / f"worker-{spec.role}-{node}.log")
    p = subprocess.Popen(worker_argv(spec, node, s), env=worker_env(s, node), stdout=log, stderr=log,
                         stdin=subprocess.DEVNULL, start_new_session=True, umask=PRIVATE_UMASK, cwd=worker_cwd(s))
    write_private(_run_dir(s) / f"worker-{spec.role}-{node}.pid", str(p.pid))
    return p


def start_supervisor(s: Settings, node: str) -> str:
    """The node's worker supervisor (`btb.infra.supervise`): it starts the workers and restarts a dead one."""
    pidfile = _run_dir(s) / "supervisor.pid"
    pid = _read_pid(pidfile)
    was = bool(pid and _pid_alive(pid))
    if was:  # a new one: it adopts the live workers and forgets roles it gave up on (`btb up` after a fix)
        stop_pidfiles(s, "supervisor.pid")
    log = _log(_log_dir(s) / "supervisor.log")
    p = subprocess.Popen([sys.executable, "-m", "btb.infra.supervise"], env=worker_env(s, node), stdout=log,
                         stderr=log, stdin=subprocess.DEVNULL, start_new_session=True, umask=PRIVATE_UMASK,
                         cwd=worker_cwd(s))
    write_private(pidfile, str(p.pid))
    return "restarted" if was else "started"


def start_flower(s: Settings) -> str:
    pidfile = _run_dir(s) / "flower.pid"
    pid = _read_pid(pidfile)
    if pid and _pid_alive(pid):
        return "already running"
    env = worker_env(s, s.node) | {"FLOWER_BASIC_AUTH": f"{s.flower_user}:{s.flower_password}"}
    log = _log(_log_dir(s) / "flower.log")
    p = subprocess.Popen([sys.executable, "-m", "btb.workflow.flower", "-A", "btb.workflow.app", "flower",
                          f"--address={s.bind}", f"--port={s.flower_port}", "--purge_offline_workers=60"],
                         env=env, stdout=log, stderr=log, stdin=subprocess.DEVNULL, start_new_session=True,
                         umask=PRIVATE_UMASK, cwd=worker_cwd(s))
    write_private(pidfile, str(p.pid))
    return "started"


def flower_api(s: Settings, path: str, timeout_s: float = 10.0):
    """GET Flower's API with the stack's basic-auth credentials → parsed JSON."""
    import base64
    import json
    import urllib.request

    token = base64.b64encode(f"{s.flower_user}:{s.flower_password}".encode()).decode()
    req = urllib.request.Request(f"http://{s.bind}:{s.flower_port}{path}", headers={"Authorization": f"Basic {token}"})
    with urllib.request.urlopen(req, timeout=timeout_s) as r:
        return json.loads(r.read())


def wait_flower(s: Settings, hostnames: list[str], timeout_s: float = 60.0) -> bool:
    """Until Flower answers and lists these workers with their queues: only then does it see every task
    a campaign sends (Flower records tasks sent after it joined the event stream)."""
    import urllib.error

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            seen = flower_api(s, "/api/workers?refresh=1")
            if set(hostnames) <= set(seen) and all(seen[h].get("active_queues") for h in hostnames):
                return True
        except (urllib.error.URLError, ConnectionError, ValueError):
            pass
        time.sleep(0.5)
    return False


def stop_pidfiles(s: Settings, pattern: str, timeout_s: float = 30.0) -> list[str]:
    """SIGTERM (Celery: warm shutdown) the processes of matching pid files, SIGKILL after timeout."""
    stopped = []
    for pidfile in sorted(_run_dir(s).glob(pattern)):
        pid = _read_pid(pidfile)
        if pid and _pid_alive(pid):
            try:
                os.killpg(pid, signal.SIGTERM)
            except OSError:
                os.kill(pid, signal.SIGTERM)
            deadline = time.monotonic() + timeout_s
            while _pid_alive(pid) and time.monotonic() < deadline:
                time.sleep(0.1)
            if _pid_alive(pid):
                try:
                    os.killpg(pid, signal.SIGKILL)
                except OSError:
                    pass
            stopped.append(pidfile.stem)
        pidfile.unlink(missing_ok=True)
    return stopped
