"""Monitor sources, tried in the order of DESIGN §6: cgroup v2 → cgroup v1 (both read through
`btb.cgroups`) → Docker SDK → psutil.

`select_source` returns the first that works for a target and keeps, on the source, why each earlier
one was skipped (`source.skipped`), so every record can say what it was measured with.
"""

from __future__ import annotations

from typing import Any, Sequence

from btb.cgroups import CgroupV1, CgroupV2, cgroup_of_pids
from btb.monitor.sources.base import PeakScope, Sample, Source, SourceUnavailable, Target
from btb.monitor.sources.cgroup import CgroupSource
from btb.monitor.sources.docker_stats import DockerStatsSource
from btb.monitor.sources.psutil_tree import PsutilTreeSource

ORDER = ("cgroup_v2", "cgroup_v1", "docker", "psutil")


def as_target(obj: Any, name: str | None = None) -> Target:
    if isinstance(obj, Target):
        return obj
    return Target.from_endpoint(name or getattr(obj, "kind", "engine"), obj)


def select_source(target: Any, *, reset_peak: bool = True, docker_client: Any = None,
                  order: Sequence[str] = ORDER) -> Source:
    """First working source for an endpoint-like target; `source.skipped` lists the reasons for the rest.
    `order` may restrict or reorder the candidates (e.g. ("psutil",) to measure the fallback itself)."""
    t = as_target(target)
    skipped: list[str] = []
    v2_dir = v1_dir = None
    if t.cgroup:
        v2_dir = v1_dir = t.cgroup
    elif t.pids:
        v2_dir, v1_dir = cgroup_of_pids(t.pids)
    attempts = [
        ("cgroup_v2", lambda: CgroupSource.open(CgroupV2, v2_dir, t.pids, reset_peak) if v2_dir
         else _no("no v2 cgroup for target")),
        ("cgroup_v1", lambda: CgroupSource.open(CgroupV1, v1_dir, t.pids, reset_peak) if v1_dir
         else _no("no v1 cgroup for target")),
        ("docker", lambda: DockerStatsSource(t.container, docker_client) if t.container else _no("no container")),
        ("psutil", lambda: PsutilTreeSource(t.pids) if t.pids else _no("no pids")),
    ]
    by_name = dict(attempts)
    for name in order:
        make = by_name[name]
        try:
            src = make()
        except (SourceUnavailable, OSError) as e:
            skipped.append(f"{name}: {e}")
            continue
        src.skipped = skipped
        return src
    raise SourceUnavailable(f"target {t.name!r}: no source works: " + "; ".join(skipped))


def _no(reason: str):
    raise SourceUnavailable(reason)


__all__ = ["ORDER", "PeakScope", "Sample", "Source", "SourceUnavailable", "Target", "select_source", "as_target",
           "CgroupSource", "DockerStatsSource", "PsutilTreeSource"]
