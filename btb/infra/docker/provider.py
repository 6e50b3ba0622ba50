"""The Docker provider's API (`btb.infra.provider.Provider`): a trial's engines started, restarted,
parked, resumed, stopped and accounted for (budget, OOM kills, logs), its state kept per trial on the node.
How one container is made and started: `launch.py`; the budget's cgroups: `budget.py`; the design of the
whole: `btb/infra/docker/__init__.py`."""

from __future__ import annotations

import json
import shutil
import time
import zlib
from pathlib import Path
from typing import Any

from btb.engines.base import Endpoint
from btb.engines.registry import ENGINES, container_kinds
from btb.infra import portguard
from btb.infra.docker.budget import ParentCgroup, budget_mode, parent_of, split
from btb.infra.docker.images import Resolved
from btb.infra.docker.launch import LABEL, LOG_TAIL_LINES, ContainerLauncher
from btb.infra.provider import EngineCaps, EngineUnavailable, Provider, Started, sizing_shares
from btb.infra.statefile import TrialStates, trial_dirname

__all__ = ["DockerProvider", "EngineUnavailable"]

READY_TIMEOUT_S = 120.0


class DockerProvider(ContainerLauncher, TrialStates, Provider):
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

    def budget_mode(self) -> tuple[str, str]:
        """("parent", why) when a per-trial parent cgroup can carry the budget; else ("split", why)."""
        return budget_mode(self.info())

    def capabilities(self) -> dict[str, EngineCaps]:
        if self._caps is None:
            caps: dict[str, EngineCaps] = {}
            try:
                self.client.ping()
                mode, why_mode = self.budget_mode()
                reach = None
            except Exception as e:  # noqa: BLE001 - no engine: every kind unavailable, with the reason
                mode, why_mode, reach = "none", "", f"Docker engine not reachable: {type(e).__name__}: {e}"[:300]
            for kind in container_kinds():
                if reach:
                    caps[kind] = EngineCaps(kind, False, False, False, False, reach)
                    continue
                img = self.image(kind)
                ok = img.ref is not None
                why = img.why if not ok else (why_mode if mode == "split" else "")
                caps[kind] = EngineCaps(kind, available=ok, can_limit=ok, can_restart=ok, can_measure=ok, why=why)
            for kind in ENGINES.keys() - caps.keys():  # no container driver (e.g. duckdb, an embedded engine)
                caps[kind] = EngineCaps(kind, False, False, False, False,
                                        f"no container for {kind}: it runs under the local provider only (BTB_PROVIDER=local)")
            self._caps = caps
        return self._caps

    def describe(self, kind: str) -> str:
        if kind not in container_kinds():
            return f"no container for {kind}: it runs under the local provider only (BTB_PROVIDER=local)"
        img = self.image(kind)
        return f"{img.ref} ({img.origin})" if img.ref else img.why

    def _new_parent(self, trial_id: str, state: dict, budget: int | None) -> None:
        old = parent_of(state)
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
        state["split"] = split(state["kinds"], budget) if state["budget_mode"] == "split" else {}
        state.update(budget=budget, oom_seen={}, oom_carried=0)

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
            parent = parent_of(state)
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

    def park(self, trial_id: str) -> None:
        state = self._load(trial_id)
        if state is None:
            return
        self._fold_oom(state)
        for kind, eng in state.get("engines", {}).items():
            c = self._container(eng.get("id")) or self._container(eng.get("container"))
            if c is None:
                portguard.release(eng.get("port"))
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
            portguard.release(eng.get("port"))  # resume picks a port (and guards it) again
            eng["id"] = None
        parent = parent_of(state)
        if parent is not None:
            parent.remove()
        state["parked"] = time.time()
        self._save(trial_id, state)

    def resume(self, trial_id: str, budget: int | None, tuning: str | None = None,
               query_timeout_s: float | None = None) -> Started:
        state = self._load(trial_id)
        if state is None or not state.get("engines"):
            raise EngineUnavailable(f"{trial_id}: no loaded engines on node {self.node}")
        if not state.get("parked"):
            self.park(trial_id)
            state = self._load(trial_id)
        try:
            self._new_parent(trial_id, state, budget)
            state["parked"] = None
            for eng in state["engines"].values():  # each container's driver reads it (Oxigraph's server timeout)
                eng["query_timeout_s"] = query_timeout_s
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
        for eng in (state or {}).get("engines", {}).values():
            portguard.release(eng.get("port"))
        parent = parent_of(state) if state else None
        if parent is not None:
            parent.remove()
        shutil.rmtree(d, ignore_errors=True)

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
        parent = parent_of(state)
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
