"""Docker provider: the engines of a trial as containers (Docker SDK, never CLI parsing), all under ONE budget.

Per trial (keyed by trial id, like `LocalProvider`):

- **Containers** `btb-<node>-<trial>-<hash>-<kind>`, labelled `btb.provider=docker`, `btb.node`, `btb.trial`,
  `btb.kind`, so `trials()` finds leftovers and `stop(trial)` never touches another trial's. Host network
  (`network_mode=host`), each engine bound to 127.0.0.1 on its own free port. No environment is passed:
  an engine never sees a btb secret. Engine credentials (PostgreSQL SCRAM superuser password, FalkorDB
  `requirepass`) are generated per trial, kept on the node in the trial's 0700 state dir (clients get the
  file's path, never the password), and reach the container as a file copied into it (`put_archive`)
  before it starts — never on an argv, in an env or a label.
- **One budget** for all engines of a trial (a hybrid's two engines share it): with the cgroupfs driver
  every container of the trial is created with `cgroup_parent` = a per-trial parent cgroup that carries
  the budget (`memory.limit_in_bytes` + memsw on v1, `memory.max` on v2); each container also gets
  `--memory` = the budget (shown by `docker inspect`; the parent is what binds a hybrid). With the systemd
  driver (no parent btb can size before the containers start) the budget is a **stated split** (equal
  shares, recorded in `Started.split`, budget_mode "split").
- **Monitor**: each Endpoint carries `container=<id>` and `cgroup=` the trial's parent memory cgroup, the
  cgroup that holds exactly the trial's containers and carries the budget. Not the container's own cgroup
  (kept in `extra["container_cgroup"]`): Docker destroys and recreates that one at every container
  restart (each cold run), which would leave the monitor reading a dead cgroup (ENODEV). In split mode
  it is the container's own cgroup (the monitor reopens it after a restart), with Docker stats as fallback.
- **OOM**: the kernel's oom_kill counter of each container's memory cgroup while it exists, and
  `State.OOMKilled` once it has exited (its cgroup is gone then), folded into a per-trial tally that never
  goes down (`oom_kills`).
- **Data** in named volumes (`…-<kind>-data`, same labels), kept across `park`/`resume`: a dataset loads
  once and is served under each budget; `resume` recreates the containers with the new `--memory`, a new
  parent cgroup and engine settings sized to the budget (`settings_for_budget`, shared with the local
  PostgreSQL engine).
- **Health**: every start waits for the engine to accept an authenticated client, up to a real timeout
  (`ready_timeout_s`); a timeout, or a container that exits meanwhile, raises EngineUnavailable with the
  tail of its log (and the OOM count when it was OOM-killed).
- **Cold runs** (`drop_cache`): the engine was restarted cleanly by `restart(clean=True)`; its volume's
  files are then evicted from the page cache with posix_fadvise where this process can reach the volume's
  directory on the host (root on the Docker host); elsewhere it returns False and the record says so.

Images: `btb.infra.images.resolve` (a local build from `btb images build`, else the pinned official image).
How each engine kind runs in its container: `btb.infra.containers`.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import shutil
import tarfile
import time
import zlib
from pathlib import Path
from typing import Any

from btb.cgroups import CGROUP_ROOT, UNLIMITED_V1, v2_mount
from btb.cgroups.files import keyed, read_int, write
from btb.engines.base import Endpoint
from btb.infra.containers import DRIVERS, ContainerEngine
from btb.infra.images import Resolved, resolve
from btb.infra.ports import free_port
from btb.infra.provider import EngineCaps, EngineUnavailable, Provider, Started, sizing_shares
from btb.infra.statefile import TrialStates, trial_dirname

__all__ = ["DockerProvider", "EngineUnavailable"]

START_ATTEMPTS = 3  # a port taken between the probe and the engine's bind: try another one
READY_TIMEOUT_S = 120.0
STOP_TIMEOUT_S = 30
LOG_TAIL_LINES = 400
KEEP_LOGS = 200
PARENT_DIR = "btb-docker"  # per-trial parent cgroups live under <hierarchy>/btb-docker/<slot>
LABEL = "btb.provider"


def _safe(s: str, n: int) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", s)[:n].strip("._-") or "x"




def _tar(files: dict[str, tuple[bytes, int, int]]) -> bytes:
    """A tar of {relative path: (content, mode, uid)} (gid = uid); a path ending in "/" is a directory with
    that mode; other parent dirs are 0755 root."""
    buf = io.BytesIO()
    now = int(time.time())
    explicit = {p.rstrip("/"): v for p, v in files.items() if p.endswith("/")}
    with tarfile.open(fileobj=buf, mode="w") as tar:
        dirs = sorted({str(Path(p).parent) for p in files if not p.endswith("/") and str(Path(p).parent) != "."}
                      | set(explicit))
        for d in dirs:
            ti = tarfile.TarInfo(d)
            _, mode, uid = explicit.get(d, (b"", 0o755, 0))
            ti.type, ti.mode, ti.uid, ti.gid, ti.mtime = tarfile.DIRTYPE, mode, uid, uid, now
            tar.addfile(ti)
        for p, (data, mode, uid) in files.items():
            if p.endswith("/"):
                continue
            ti = tarfile.TarInfo(p)
            ti.size, ti.mode, ti.uid, ti.gid, ti.mtime = len(data), mode, uid, uid, now
            tar.addfile(ti, io.BytesIO(data))
    return buf.getvalue()


# --- the trial's budget: a parent cgroup (cgroupfs driver) ----------------------------------------------
class ParentCgroup:
    """The per-trial parent cgroup every container of the trial is created under (cgroupfs driver)."""

    def __init__(self, version: str, name: str):
        self.version, self.name = version, name
        self.rel = f"/{PARENT_DIR}/{name}"  # HostConfig.CgroupParent

    @property
    def memory_dir(self) -> Path:
        if self.version == "1":
            return CGROUP_ROOT / "memory" / PARENT_DIR / self.name
        return (v2_mount() or Path("/sys/fs/cgroup")) / PARENT_DIR / self.name

    def dirs(self) -> list[Path]:
        """Every directory of it (v1: one per hierarchy, Docker/runc makes them beside the memory one)."""
        if self.version != "1":
            return [self.memory_dir]
        return [d / PARENT_DIR / self.name for d in sorted(CGROUP_ROOT.iterdir()) if (d / PARENT_DIR).is_dir()]

    def create(self, budget: int | None) -> int | None:
        d = self.memory_dir
        if self.version == "2":  # the memory controller must be enabled down to our dir
            root = d.parent.parent
            d.parent.mkdir(exist_ok=True)
            for p in (root, d.parent):
                write(p / "cgroup.subtree_control", "+memory")
        d.mkdir(parents=True, exist_ok=True)
        if budget:
            if self.version == "1":
                # memsw >= memory at every moment: raise memsw first when it grows, lower memory first when it shrinks
                for f in ("memory.memsw.limit_in_bytes", "memory.limit_in_bytes", "memory.memsw.limit_in_bytes"):
                    if (d / f).exists():
                        write(d / f, str(budget))
            else:
                write(d / "memory.max", str(budget))
                if (d / "memory.swap.max").exists():
                    write(d / "memory.swap.max", "0")
        return self.read_limit()

    def read_limit(self) -> int | None:
        v = read_int(self.memory_dir / ("memory.limit_in_bytes" if self.version == "1" else "memory.max"))
        return v if v is not None and v < UNLIMITED_V1 else None

    def swap_limited(self) -> bool:
        d = self.memory_dir
        return (d / "memory.memsw.limit_in_bytes").exists() if self.version == "1" else (d / "memory.swap.max").exists()

    def container_dir(self, cid: str) -> Path:
        return self.memory_dir / cid

    def remove(self, timeout_s: float = 5.0) -> None:
        deadline = time.monotonic() + timeout_s
        for d in sorted(self.dirs(), key=lambda p: -len(p.parts)):
            while d.is_dir():
                try:
                    for child in sorted((c for c in d.iterdir() if c.is_dir()), key=lambda p: -len(p.parts)):
                        child.rmdir()  # a container's dir left behind by a killed runc
                    d.rmdir()
                except OSError:
                    if time.monotonic() > deadline:
                        break
                    time.sleep(0.05)


# --- the provider ----------------------------------------------------------------------------------------
class DockerProvider(TrialStates, Provider):
    name = "docker"

    def __init__(self, engine_root: Path | str, node: str, settings: Any = None, client: Any = None,
                 ready_timeout_s: float | None = None):
        self.node = node
        self.root = Path(engine_root) / node / "docker"
        self.trials_dir = self.root / "trials"
        self.settings = settings
        self._client = client
        self._caps: dict[str, EngineCaps] | None = None
        self._images: dict[str, Resolved] = {}
        self.ready_timeout_s = float(ready_timeout_s or getattr(settings, "docker_ready_timeout_s", 0) or READY_TIMEOUT_S)
        self._port_offset = (zlib.crc32(node.encode()) % 64) * 3
        self._info: dict[str, Any] | None = None

    # --- docker -----------------------------------------------------------------------------------------
    @property
    def client(self):
        if self._client is None:
            import docker

            self._client = docker.from_env(timeout=120)
        return self._client

    def info(self) -> dict[str, Any]:
        if self._info is None:
            self._info = self.client.info()
        return self._info

    def budget_mode(self) -> tuple[str, str]:
        """("parent", why) when a per-trial parent cgroup can carry the budget; else ("split", why)."""
        info = self.info()
        driver, version = info.get("CgroupDriver", "?"), str(info.get("CgroupVersion", "1"))
        if driver != "cgroupfs":
            return "split", (f"cgroup driver {driver}: no parent cgroup btb can size before the containers start; "
                             "a hybrid's budget is split in equal shares (stated per trial)")
        probe = CGROUP_ROOT / "memory" if version == "1" else (v2_mount() or Path("/sys/fs/cgroup"))
        if not os.access(probe, os.W_OK):
            return "split", f"{probe} not writable by btb: no per-trial parent cgroup; a hybrid's budget is split"
        return "parent", f"cgroupfs v{version}: a per-trial parent cgroup carries the budget"

    def _options(self, prefix: str) -> dict[str, Any]:
        s = self.settings
        opts = {}
        for k in ("timescale", "tuning"):
            v = getattr(s, f"{prefix}_{k}", None) if s is not None else None
            if v:
                opts[k] = v
        return opts

    def image(self, kind: str) -> Resolved:
        if kind not in self._images:
            override = (getattr(self.settings, f"docker_image_{kind}", "") if self.settings is not None else "") or \
                os.environ.get(f"BTB_DOCKER_IMAGE_{kind.upper()}", "")
            self._images[kind] = resolve(self.client, kind, override)
        return self._images[kind]

    # --- capabilities -----------------------------------------------------------------------------------
    def capabilities(self) -> dict[str, EngineCaps]:
        if self._caps is None:
            caps: dict[str, EngineCaps] = {}
            try:
                self.client.ping()
                mode, why_mode = self.budget_mode()
                reach = None
            except Exception as e:  # noqa: BLE001 - no engine: every kind unavailable, with the reason
                mode, why_mode, reach = "none", "", f"Docker engine not reachable: {type(e).__name__}: {e}"[:300]
            for kind in DRIVERS:
                if reach:
                    caps[kind] = EngineCaps(kind, False, False, False, False, reach)
                    continue
                img = self.image(kind)
                ok = img.ref is not None
                why = img.why if not ok else (why_mode if mode == "split" else "")
                caps[kind] = EngineCaps(kind, available=ok, can_limit=ok, can_restart=ok, can_measure=ok, why=why)
            self._caps = caps
        return self._caps

    def describe(self, kind: str) -> str:
        img = self.image(kind)
        return f"{img.ref} ({img.origin})" if img.ref else img.why

    # --- per-trial state --------------------------------------------------------------------------------
    def _base_name(self, trial_id: str) -> str:
        h = hashlib.sha1(f"{self.node}/{trial_id}".encode()).hexdigest()[:10]
        return f"btb-{_safe(self.node, 16)}-{_safe(trial_id, 40)}-{h}"

    def _labels(self, trial_id: str, kind: str, role: str) -> dict[str, str]:
        return {LABEL: "docker", "btb.node": self.node, "btb.trial": trial_id, "btb.kind": kind, "btb.role": role}

    def _driver(self, trial_id: str, eng: dict) -> ContainerEngine:
        return DRIVERS[eng["kind"]](self, self._dir(trial_id), eng)

    def _parent(self, state: dict) -> ParentCgroup | None:
        p = state.get("parent")
        return ParentCgroup(p["version"], p["name"]) if p else None

    def _new_parent(self, trial_id: str, state: dict, budget: int | None) -> None:
        old = self._parent(state)
        if old is not None:
            old.remove()
        mode, why = self.budget_mode()
        if mode == "parent":
            parent = ParentCgroup(str(self.info().get("CgroupVersion", "1")), f"{self._base_name(trial_id)}")
            limit = parent.create(budget)
            state["parent"] = {"version": parent.version, "name": parent.name, "rel": parent.rel,
                               "memory_dir": str(parent.memory_dir), "applied_limit": limit,
                               "swap_limited": parent.swap_limited()}
            state["budget_mode"] = "shared-cgroup"  # as the local provider: one cgroup holds them all (limit or not)
            if budget and limit != budget:
                raise EngineUnavailable(f"trial {trial_id}: parent cgroup {parent.memory_dir} limit read back as "
                                        f"{limit}, not {budget}")
        else:
            state["parent"] = None
            state["budget_mode"] = ("split" if len(state["kinds"]) > 1 else "shared-cgroup") if budget else "none"
            state["budget_why"] = why
        state["split"] = self._split(state["kinds"], budget) if state["budget_mode"] == "split" else {}
        state.update(budget=budget, oom_seen={}, oom_carried=0)

    @staticmethod
    def _split(kinds: list[str], budget: int | None) -> dict[str, int]:
        if not budget:
            return {}
        share = budget // max(1, len(kinds))
        return {k: share for k in kinds}

    # --- containers ---------------------------------------------------------------------------------
    def _container(self, cid_or_name: str | None):
        import docker.errors

        if not cid_or_name:
            return None
        try:
            return self.client.containers.get(cid_or_name)
        except docker.errors.NotFound:
            return None

    def _create_kwargs(self, trial_id: str, state: dict, eng: dict, role: str) -> dict[str, Any]:
        kind = eng["kind"]
        budget = state.get("budget")
        limit = state.get("split", {}).get(kind) or budget
        drv = DRIVERS[kind]
        kw: dict[str, Any] = {
            # init: docker-init (tini) as PID 1 forwards the stop signal to the engine, which then gets its
            # default disposition (an engine as PID 1 ignores a SIGTERM it has no handler for: Oxigraph would
            # only stop at the SIGKILL after the stop timeout) and reaps its orphans
            "init": True,
            "labels": self._labels(trial_id, kind, role), "network_mode": "host", "detach": True,
            "environment": {}, "volumes": {eng["volume"]: {"bind": drv.data_path, "mode": "rw"}},
            "log_config": {"type": "json-file", "config": {"max-size": "20m", "max-file": "2"}},
        }
        if drv.user:
            kw["user"] = drv.user
        if drv.stop_signal:
            kw["stop_signal"] = drv.stop_signal
        parent = self._parent(state)
        if parent is not None:
            kw["cgroup_parent"] = parent.rel
        if limit:
            kw["mem_limit"] = int(limit)
            if parent is None or parent.swap_limited():
                kw["memswap_limit"] = int(limit)  # no swap beyond the budget
        return kw

    def _launch(self, trial_id: str, state: dict, kind: str, tuning: str | None) -> Endpoint:
        """Create and start the engine's container (volume kept or made), wait until it accepts clients."""
        import docker.errors

        eng = state["engines"].get(kind)
        base = self._base_name(trial_id)
        img = self.image(kind)
        if img.ref is None:
            raise EngineUnavailable(f"node {self.node} cannot run {kind}: {img.why}")
        if eng is None:
            eng = {"kind": kind, "trial": trial_id, "container": f"{base}-{kind}", "volume": f"{base}-{kind}-data",
                   "port": 0, "id": None, "initialized": False}
            state["engines"][kind] = eng
        eng.update(image=img.ref, image_id=img.image_id, image_origin=img.origin,
                   image_labels={k: v for k, v in img.labels.items() if k.startswith("btb.")})
        try:
            self.client.volumes.get(eng["volume"])
        except docker.errors.NotFound:
            self.client.volumes.create(eng["volume"], labels=self._labels(trial_id, kind, "data"))
            eng["initialized"] = False
        self._save(trial_id, state)
        drv = DRIVERS[kind](self, self._dir(trial_id), eng)
        if not eng["initialized"]:
            drv.initialize(state.get("budget"))
            self._save(trial_id, state)
        used = {e["port"] for k, e in state["engines"].items() if k != kind}
        base_port = drv.default_port + self._port_offset
        last: Exception | None = None
        for attempt in range(START_ATTEMPTS):
            port = free_port(base_port + 7 * attempt)
            while port in used:
                port = free_port(port + 1)
            eng["port"] = port
            old = self._container(eng["container"])
            if old is not None:
                old.remove(force=True)
            sized_for = sizing_shares(state["kinds"], state.get("budget"))[kind]  # a hybrid: each its share
            c = self.client.containers.create(img.ref, command=drv.command(sized_for, tuning),
                                              entrypoint=drv.entrypoint(), name=eng["container"],
                                              **self._create_kwargs(trial_id, state, eng, "engine"))
            eng["id"] = c.id
            self._save(trial_id, state)
            for dest, files in drv.files().items():
                c.put_archive(dest, _tar(files))
            t0 = time.monotonic()
            c.start()
            try:
                self._wait_ready(drv, c)
                eng["ready_s"] = round(time.monotonic() - t0, 3)
                eng["initialized"] = True
                self._save(trial_id, state)
                return self._endpoint(trial_id, state, drv, c)
            except EngineUnavailable as e:
                last = e
                self._keep_log(trial_id, kind, c)  # why it failed stays readable (logs()); `e` carries any OOM kill
                c.remove(force=True)  # frees its port before we ask whether someone else holds it
                if e.oom_kills or attempt + 1 == START_ATTEMPTS or self._port_is_free(port):
                    raise  # not a port taken meanwhile by someone else: retrying would not help
        raise last or EngineUnavailable(f"{kind}: did not start")

    @staticmethod
    def _port_is_free(port: int) -> bool:
        try:
            return free_port(port, span=1) == port
        except RuntimeError:
            return False

    def _wait_ready(self, drv: ContainerEngine, c: Any, timeout_s: float | None = None) -> None:
        deadline = time.monotonic() + (timeout_s or self.ready_timeout_s)
        while True:
            c.reload()
            st = c.attrs.get("State", {})
            if st.get("Status") in ("exited", "dead"):
                oom = bool(st.get("OOMKilled"))
                log = c.logs(tail=30).decode(errors="replace").strip()
                raise EngineUnavailable(
                    f"{drv.kind} container {c.name} exited ({st.get('ExitCode')}{', OOM-killed' if oom else ''}) "
                    f"before accepting clients; last lines of its log:\n{log}", oom_kills=1 if oom else None)
            kills = self._own_oom(c)
            if kills:  # killed while starting (a child or a restarting engine): this budget cannot serve it
                log = c.logs(tail=30).decode(errors="replace").strip()
                raise EngineUnavailable(f"{drv.kind} container {c.name} was OOM-killed while starting (oom_kill "
                                        f"{kills}); last lines of its log:\n{log}", oom_kills=kills)
            if st.get("Running") and drv.ready():
                drv.after_ready()
                return
            if time.monotonic() >= deadline:
                log = c.logs(tail=30).decode(errors="replace").strip()
                raise EngineUnavailable(f"{drv.kind} container {c.name} did not accept clients within "
                                        f"{timeout_s or self.ready_timeout_s:.0f} s; last lines of its log:\n{log}")
            time.sleep(0.1)

    def _own_oom(self, c: Any) -> int | None:
        """The kernel's oom_kill count of the container's own memory cgroup (None: not readable here)."""
        own = self._container_cgroup(None, c)
        if not own:
            return None
        f = Path(own) / ("memory.oom_control" if str(self.info().get("CgroupVersion")) == "1" else "memory.events")
        try:
            return keyed(f).get("oom_kill") if f.exists() else None
        except OSError:
            return None

    def _container_cgroup(self, state: dict | None, c: Any) -> str | None:
        """The container's own memory cgroup dir (from its main process, else from the parent's layout)."""
        pid = c.attrs.get("State", {}).get("Pid")
        if pid:
            try:
                for line in Path(f"/proc/{pid}/cgroup").read_text().splitlines():
                    _, ctrls, rel = line.split(":", 2)
                    if "memory" in ctrls.split(","):
                        return str(CGROUP_ROOT / "memory" / rel.lstrip("/"))
                    if ctrls == "" and str(self.info().get("CgroupVersion")) == "2":
                        return str((v2_mount() or Path("/sys/fs/cgroup")) / rel.lstrip("/"))
            except (OSError, ValueError):
                pass
        parent = self._parent(state) if state else None
        return str(parent.container_dir(c.id)) if parent else None

    def _endpoint(self, trial_id: str, state: dict, drv: ContainerEngine, c: Any) -> Endpoint:
        c.reload()
        dsn, version, extra = drv.describe(c)
        parent = self._parent(state)
        own = self._container_cgroup(state, c)
        pid = c.attrs.get("State", {}).get("Pid") or 0
        limit = parent.read_limit() if parent else (c.attrs.get("HostConfig", {}).get("Memory") or None)
        return Endpoint(
            kind=drv.kind, dsn=dsn, version=version, pids=(pid,) if pid else (),
            cgroup=str(parent.memory_dir) if parent else own, container=c.id,
            extra={**extra, "memory_limit": limit, "container_memory": c.attrs.get("HostConfig", {}).get("Memory") or None,
                   "cgroup_version": f"v{self.info().get('CgroupVersion', '?')}", "container_cgroup": own,
                   "budget_cgroup": str(parent.memory_dir) if parent else None, "budget_mode": state.get("budget_mode"),
                   "image": drv.eng.get("image"), "image_id": drv.eng.get("image_id"),
                   "image_origin": drv.eng.get("image_origin"), "container_name": c.name,
                   "ready_s": drv.eng.get("ready_s"), "provider": "docker"})

    # --- Provider API -------------------------------------------------------------------------------
    def start(self, trial_id: str, kinds: tuple[str, ...] | list[str], budget: int | None) -> Started:
        kinds = tuple(kinds)
        self.require(kinds, self.node, " in Docker")
        self.stop(trial_id)  # fresh engines: whatever this trial left here before goes first
        self.trials_dir.mkdir(parents=True, exist_ok=True)
        d = self._dir(trial_id)
        d.mkdir(parents=True)
        d.chmod(0o700)  # engine passwords live here
        state: dict[str, Any] = {"trial": trial_id, "node": self.node, "kinds": list(kinds), "created": time.time(),
                                 "engines": {}, "parent": None}
        self._save(trial_id, state)
        try:
            self._new_parent(trial_id, state, budget)
            self._save(trial_id, state)
            return self._start_all(trial_id, state, None)
        except Exception as e:
            kills = getattr(e, "oom_kills", None) or self._safe_oom(trial_id)
            self.stop(trial_id)
            raise EngineUnavailable(f"trial {trial_id}: engines failed to start in Docker on node {self.node}: {e}",
                                    oom_kills=kills) from e

    def _start_all(self, trial_id: str, state: dict, tuning: str | None) -> Started:
        state["tuning"] = tuning
        endpoints = {kind: self._launch(trial_id, state, kind, tuning) for kind in state["kinds"]}
        self._save(trial_id, state)
        budget = state.get("budget")
        return Started(endpoints=endpoints, budget=budget, budget_mode=state["budget_mode"],
                       applied_limit=self.applied_limit(trial_id), split=dict(state.get("split") or {}),
                       sizing=sizing_shares(state["kinds"], budget))

    def _safe_oom(self, trial_id: str) -> int | None:
        try:
            return self.oom_kills(trial_id) or None
        except Exception:  # noqa: BLE001
            return None

    def current(self, trial_id: str, wait_s: float = 0.0) -> dict[str, Endpoint] | None:
        try:
            state = self._load(trial_id)
            if state is None or not state.get("engines") or state.get("parked"):
                return None
            deadline = time.monotonic() + max(0.0, wait_s)
            while True:
                cs = {k: self._container(e.get("id")) for k, e in state["engines"].items()}
                if any(c is None or c.status != "running" for c in cs.values()):
                    return None  # an exited container does not come back by waiting: restart() it
                drivers = {k: self._driver(trial_id, e) for k, e in state["engines"].items()}
                if all(d.ready() for d in drivers.values()):
                    return {k: self._endpoint(trial_id, state, drivers[k], cs[k]) for k in drivers}
                if time.monotonic() >= deadline:
                    return None
                time.sleep(0.05)
        except Exception:  # noqa: BLE001 - "not usable now" is the answer, never an exception
            return None

    def _fold_oom(self, state: dict) -> None:
        """Before a container restarts (its cgroup and OOMKilled flag start over): keep what it counted."""
        self._oom_read(state)
        state["oom_carried"] = int(state.get("oom_carried", 0)) + sum(state.get("oom_seen", {}).values())
        state["oom_seen"] = {}

    def restart(self, trial_id: str, clean: bool = False) -> dict[str, Endpoint]:
        """Restart the containers in place (same budget, same parent cgroup, same data): after a crash
        (`clean=False`: kill what is left), or for a cold run (`clean=True`: a clean engine shutdown first)."""
        state = self._load(trial_id)
        if state is None or not state.get("engines"):
            raise EngineUnavailable(f"trial {trial_id} has no engines on node {self.node}")
        try:
            parent = self._parent(state)
            if parent is not None and not parent.memory_dir.is_dir():
                parent.create(state.get("budget"))
            self._fold_oom(state)
            self._save(trial_id, state)
            out = {}
            for kind, eng in state["engines"].items():
                drv = self._driver(trial_id, eng)
                c = self._container(eng.get("id"))
                if c is None:  # removed behind our back: make it again from its volume
                    out[kind] = self._launch(trial_id, state, kind, state.get("tuning"))
                    continue
                self._halt(drv, c, clean)
                t0 = time.monotonic()
                c.start()
                self._wait_ready(drv, c)
                eng["ready_s"] = round(time.monotonic() - t0, 3)
                out[kind] = self._endpoint(trial_id, state, drv, c)
            self._save(trial_id, state)
            return out
        except Exception as e:
            raise EngineUnavailable(f"trial {trial_id}: restart failed on node {self.node}: {e}",
                                    oom_kills=getattr(e, "oom_kills", None)) from e

    @staticmethod
    def _halt(drv: ContainerEngine, c: Any, clean: bool) -> None:
        c.reload()
        if c.status != "running":
            return
        if clean:
            drv.before_stop()
            c.stop(timeout=STOP_TIMEOUT_S)
        else:
            c.kill()
        c.wait(timeout=STOP_TIMEOUT_S + 30)

    def park(self, trial_id: str) -> None:
        state = self._load(trial_id)
        if state is None:
            return
        self._fold_oom(state)
        for kind, eng in state.get("engines", {}).items():
            c = self._container(eng.get("id")) or self._container(eng.get("container"))
            if c is None:
                continue
            try:
                self._halt(self._driver(trial_id, eng), c, clean=True)
            except Exception:  # noqa: BLE001 - killed instead; its data still restarts (crash recovery)
                try:
                    c.kill()
                except Exception:  # noqa: BLE001
                    pass
            self._keep_log(trial_id, kind, c)
            c.remove(force=True)
            eng["id"] = None
        parent = self._parent(state)
        if parent is not None:
            parent.remove()
        state["parked"] = time.time()
        self._save(trial_id, state)

    def resume(self, trial_id: str, budget: int | None, tuning: str | None = None) -> Started:
        state = self._load(trial_id)
        if state is None or not state.get("engines"):
            raise EngineUnavailable(f"{trial_id}: no loaded engines on node {self.node}")
        if not state.get("parked"):
            self.park(trial_id)
            state = self._load(trial_id)
        try:
            self._new_parent(trial_id, state, budget)
            state["parked"] = None
            self._save(trial_id, state)
            return self._start_all(trial_id, state, tuning)
        except Exception as e:
            kills = getattr(e, "oom_kills", None) or self._safe_oom(trial_id)
            self.park(trial_id)  # the data stays for another level
            raise EngineUnavailable(f"{trial_id}: engines failed to start under {budget} bytes in Docker on node "
                                    f"{self.node}: {e}", oom_kills=kills) from e

    def drop_cache(self, trial_id: str) -> bool:
        """Evict the trial's volumes' files from the page cache (posix_fadvise on the volume's directory on
        the Docker host: only where this process can reach it, i.e. on that host as root); else False."""
        from btb.infra.pagecache import evict

        state = self._load(trial_id)
        if state is None:
            return False
        dirs = []
        for eng in state.get("engines", {}).values():
            try:
                mp = self.client.volumes.get(eng["volume"]).attrs.get("Mountpoint")
            except Exception:  # noqa: BLE001
                mp = None
            if mp:
                dirs.append(mp)
        return bool(dirs) and evict(dirs)

    def parked(self, trial_id: str) -> bool:
        state = self._load(trial_id)
        return bool(state and state.get("parked"))

    def _by_label(self, trial_id: str | None = None):
        flt = [f"{LABEL}=docker", f"btb.node={self.node}"] + ([f"btb.trial={trial_id}"] if trial_id else [])
        cs = self.client.containers.list(all=True, filters={"label": flt})
        vs = self.client.volumes.list(filters={"label": flt})
        return cs, vs

    def stop(self, trial_id: str) -> None:
        state = self._load(trial_id)
        d = self._dir(trial_id)
        if state is None and (self.trials_dir / trial_id).is_dir():  # a leftover listed by its dir name
            d = self.trials_dir / trial_id
        try:
            cs, vs = self._by_label(trial_id)
        except Exception:  # noqa: BLE001 - no engine answering: nothing of ours can run either
            cs, vs = [], []
        for c in cs:
            try:
                if c.labels.get("btb.role") == "engine":
                    self._keep_log(trial_id, c.labels.get("btb.kind", "engine"), c)
                c.remove(force=True)
            except Exception:  # noqa: BLE001 - best effort; gone already is fine
                pass
        for v in vs:
            try:
                v.remove(force=True)
            except Exception:  # noqa: BLE001
                pass
        parent = self._parent(state) if state else None
        if parent is not None:
            parent.remove()
        shutil.rmtree(d, ignore_errors=True)

    def _keep_log(self, trial_id: str, kind: str, c: Any) -> None:
        try:
            text = c.logs(tail=LOG_TAIL_LINES)
        except Exception:  # noqa: BLE001
            return
        dest = self.root / "logs" / trial_dirname(trial_id)
        dest.mkdir(parents=True, exist_ok=True)
        (dest / f"{kind}.log").write_bytes(text)
        kept = sorted((self.root / "logs").iterdir(), key=lambda p: p.stat().st_mtime)
        for old in kept[:-KEEP_LOGS]:
            shutil.rmtree(old, ignore_errors=True)

    def logs(self, trial_id: str) -> dict[str, str]:
        """Engine logs of a trial: live containers' logs, else the tails kept when they were removed."""
        state = self._load(trial_id)
        out = {}
        for kind, eng in (state or {}).get("engines", {}).items():
            c = self._container(eng.get("id"))
            if c is not None:
                out[kind] = c.logs(tail=LOG_TAIL_LINES).decode(errors="replace")
        d = self.root / "logs" / trial_dirname(trial_id)
        for f in sorted(d.glob("*.log")) if d.is_dir() else []:
            out.setdefault(f.stem, f.read_text(errors="replace"))
        return out

    def _oom_read(self, state: dict) -> bool:
        """Update the per-container maxima from the kernel counters / OOMKilled; True when something rose."""
        seen = state.setdefault("oom_seen", {})
        changed = False
        for eng in state.get("engines", {}).values():
            cid = eng.get("id")
            c = self._container(cid)
            if c is None:
                continue
            cur = 0
            counted = self._own_oom(c) if c.status == "running" else None
            if counted is not None:
                cur = counted
            elif c.attrs.get("State", {}).get("OOMKilled"):
                cur = 1  # exited: its cgroup (and counter) are gone; Docker kept the flag
            if cur > seen.get(cid, 0):
                seen[cid] = cur
                changed = True
        return changed

    def oom_kills(self, trial_id: str) -> int | None:
        state = self._load(trial_id)
        if state is None:
            return None
        if self._oom_read(state):
            self._save(trial_id, state)
        return int(state.get("oom_carried", 0)) + sum(state.get("oom_seen", {}).values())

    def applied_limit(self, trial_id: str) -> int | None:
        state = self._load(trial_id)
        if state is None:
            return None
        parent = self._parent(state)
        if parent is not None:
            return parent.read_limit()
        limits = []
        for eng in state.get("engines", {}).values():
            c = self._container(eng.get("id"))
            if c is not None and c.attrs.get("HostConfig", {}).get("Memory"):
                limits.append(int(c.attrs["HostConfig"]["Memory"]))
        return sum(limits) or None

    def trials(self) -> list[str]:
        out: set[str] = set()
        for d in sorted(self.trials_dir.iterdir()) if self.trials_dir.is_dir() else []:
            try:
                out.add(json.loads((d / "state.json").read_text())["trial"])
            except (OSError, ValueError, KeyError):
                out.add(d.name)  # a start that died before its state was written: stop(d.name) removes it
        try:
            cs, vs = self._by_label()
            out.update(x.labels.get("btb.trial") for x in cs if x.labels.get("btb.trial"))
            out.update((v.attrs.get("Labels") or {}).get("btb.trial") for v in vs
                       if (v.attrs.get("Labels") or {}).get("btb.trial"))
        except Exception:  # noqa: BLE001 - no engine answering: the state dirs are what we know
            pass
        return sorted(out)

    def containers(self, trial_id: str) -> dict[str, Any]:
        """The trial's engine containers by kind (tests, `btb doctor`)."""
        state = self._load(trial_id) or {}
        return {k: c for k, e in state.get("engines", {}).items() if (c := self._container(e.get("id"))) is not None}
