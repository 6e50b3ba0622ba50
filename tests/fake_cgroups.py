"""Crafted cgroup trees in a temp dir, in the kernel's own file formats, for the code paths this machine's
real cgroups cannot take (v2 with the memory controller here; refusals; odd layouts). Each builder
writes one cgroup's files and returns its directory; values are distinct so a mix-up shows."""

from __future__ import annotations

from pathlib import Path

PSI = "some avg10=0.00 avg60=0.00 avg300=0.00 total={}\nfull avg10=0.00 avg60=0.00 avg300=0.00 total={}\n"


def write_files(d: Path, files: dict[str, str]) -> Path:
    d.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (d / name).write_text(text)
    return d


def pressure_files(mem: tuple[int, int] = (111, 22), cpu: tuple[int, int] = (33, 0),
                   io: tuple[int, int] = (44, 5)) -> dict[str, str]:
    return {"memory.pressure": PSI.format(*mem), "cpu.pressure": PSI.format(*cpu), "io.pressure": PSI.format(*io)}


def v2_cgroup(d: Path, memory: bool = True, **over: str) -> Path:
    """A v2 cgroup dir; `memory=False`: the memory controller is not enabled for it (no memory.* files)."""
    files = {"cgroup.procs": "", "cgroup.controllers": "cpu io memory", "cgroup.subtree_control": "",
             "cpu.stat": "usage_usec 2500000\nuser_usec 2000000\nsystem_usec 500000\n",
             "io.stat": "8:0 rbytes=4096 wbytes=8192 rios=1 wios=2 dbytes=0 dios=0\n"
                        "259:0 rbytes=1 wbytes=2 rios=1 wios=1 dbytes=0 dios=0\n",
             **pressure_files()}
    if memory:
        files.update({"memory.current": "1000000\n", "memory.peak": "3000000\n", "memory.max": "max\n",
                      "memory.swap.max": "max\n",
                      "memory.stat": "anon 600000\nfile 300000\nshmem 50000\ninactive_file 200000\n",
                      "memory.events": "low 0\nhigh 0\nmax 4\noom 2\noom_kill 1\noom_group_kill 0\n"})
    files.update(over)
    return write_files(d, files)


def v1_cgroup(root: Path, name: str, unified: bool = True, cpuacct: bool = True, **over: str) -> dict[str, Path]:
    """A v1 cgroup `name` in fake memory / cpuacct / blkio hierarchies under `root` (and a v2 dir for
    pressure where `unified`); returns the dirs by controller key, as `Cgroup` takes them."""
    mem = {"cgroup.procs": "", "memory.usage_in_bytes": "2000000\n", "memory.max_usage_in_bytes": "5000000\n",
           "memory.limit_in_bytes": "9223372036854771712\n", "memory.memsw.limit_in_bytes": "9223372036854771712\n",
           "memory.stat": "cache 10\nrss 20\nshmem 3\ntotal_cache 700000\ntotal_rss 900000\ntotal_shmem 40000\n"
                          "total_inactive_file 100000\n",
           "memory.oom_control": "oom_kill_disable 0\nunder_oom 0\noom_kill 3\n"}
    mem.update({k: v for k, v in over.items() if k.startswith("memory.")})
    dirs = {"memory": write_files(root / "memory" / name, mem)}
    if cpuacct:
        dirs["cpuacct"] = write_files(root / "cpuacct" / name, {"cgroup.procs": "", "cpuacct.usage": "1500000000\n"})
    dirs["blkio"] = write_files(root / "blkio" / name, {
        "cgroup.procs": "", "blkio.throttle.io_service_bytes":
            "8:0 Read 100\n8:0 Write 50\n8:0 Sync 150\n8:0 Async 0\n8:0 Total 150\n8:16 Read 1\n8:16 Write 2\nTotal 153\n"})
    if unified:
        dirs["unified"] = write_files(root / "unified" / name, {"cgroup.procs": "", **pressure_files()})
    return dirs
