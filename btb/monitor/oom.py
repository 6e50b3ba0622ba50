"""Was an engine OOM-killed? From the cgroup's oom_kill counter, Docker's OOMKilled, or the engine's
process having died by SIGKILL (exit 137).

Take `oom_kill_count(target)` before a phase and pass it as `since_count` afterwards. The exit-status
path needs the caller's own knowledge (`returncode` of a Popen it owns): a process that is not our child
cannot be reaped here, and a merely vanished pid is no evidence of an OOM.
"""

from __future__ import annotations

import signal
from typing import Any

from btb.cgroups import cgroup_of
from btb.monitor.sources import as_target


def oom_kill_count(target: Any) -> int | None:
    """Cumulative oom_kill count of the target's cgroup (v2 memory.events / v1 memory.oom_control)."""
    t = as_target(target)
    cg = cgroup_of(t.cgroup, t.pids)
    return cg.read_once(lambda c: c.oom_kills()) if cg is not None else None


def killed_by_sigkill(returncode: int | None) -> bool:
    """Popen returncode -9, or a shell's 137 (128 + SIGKILL)."""
    return returncode in (-signal.SIGKILL, 128 + signal.SIGKILL)


def docker_oom_killed(container: str, client: Any = None) -> bool:
    try:
        if client is None:
            from btb.monitor.sources.docker_stats import docker_client

            client = docker_client()
        return bool(client.containers.get(container).attrs.get("State", {}).get("OOMKilled"))
    except Exception:  # noqa: BLE001 - no docker here: no evidence either way
        return False


def oom_happened(target: Any, since_count: int | None, *, returncode: int | None = None) -> bool:
    """True when the cgroup counted an OOM kill after `since_count` was taken, Docker says OOMKilled, or
    the engine process (`returncode` from the caller's Popen) died by SIGKILL."""
    n = oom_kill_count(target)
    if n is not None and n > (since_count or 0):
        return True
    t = as_target(target)
    if t.container and docker_oom_killed(t.container):
        return True
    return killed_by_sigkill(returncode)
