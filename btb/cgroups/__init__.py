"""Cgroups in one layer, used both to limit engines (btb.infra's providers) and to measure them
(btb.monitor's cgroup source): the files are read in one place only.

Processes must start inside their cgroup (on v1, charges do not follow a process moved later), so the
providers hand engines an argv prefix (`CgroupSlot.wrap`) rather than moving pids. Where no memory limit
can be set, the slot says so (`version == "none"`, `applied_limit is None`): results then read
"unlimited", never a silent pretend.

- `files`: reading/writing cgroup files (`KeptFile` keeps one open for sampling), our own cgroups, the v2 mount;
- `cgroup`: `Cgroup`, the one interface (make, limit, join, measure, remove), as in BenchExec;
- `v1`, `v2`: its two implementations;
- `slot`: `CgroupSlot`, a trial's cgroup as the provider records it;
- `machine`: the version chosen for this machine (`limit_version`), `create_slot`, `capabilities`, and
  finding the cgroup of a path or of an engine's pids (`cgroup_of`).
"""

from __future__ import annotations

from btb.cgroups.cgroup import Cgroup, CgroupUnavailable, LimitOutcome, MemoryStat, Pressure
from btb.cgroups.files import CGROUP_ROOT, UNLIMITED_V1, proc_cgroups, v2_mount
from btb.cgroups.machine import capabilities, cgroup_at, cgroup_of, cgroup_of_pids, create_slot, limit_version
from btb.cgroups.slot import VERSIONS, CgroupSlot
from btb.cgroups.v1 import CgroupV1
from btb.cgroups.v2 import CgroupV2

__all__ = ["CGROUP_ROOT", "UNLIMITED_V1", "VERSIONS", "Cgroup", "CgroupSlot", "CgroupUnavailable", "CgroupV1",
           "CgroupV2", "LimitOutcome", "MemoryStat", "Pressure", "capabilities", "cgroup_at", "cgroup_of",
           "cgroup_of_pids", "create_slot", "limit_version", "proc_cgroups", "v2_mount"]
