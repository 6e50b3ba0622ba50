"""Local provider: the engines of a trial as processes on this node, all inside ONE cgroup slot that
carries the trial's budget (so a hybrid's two engines share it instead of getting it twice).

State is per trial: `<engine_root>/<node>/trials/<trial dir>/state.json` (+ one private work dir per
engine), so any worker process — a later batch, or a worker restarted after a crash — reattaches to a
trial's engines, `stop(trial)` touches that trial only, and `trials()` lists leftovers for the workflow
to stop when their lease lapsed. Engines are known by kind (`btb.engines.registry.ENGINES`).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import time
import zlib
from pathlib import Path
from typing import Any

from btb.cgroups import CgroupSlot, create_slot, limit_version
from btb.engines.base import Endpoint
from btb.engines.registry import ENGINES, local_engine
from btb.infra import portguard
from btb.infra.engines import EngineSpec, LocalEngine
from btb.infra.ports import port_is_free
from btb.infra.provider import EngineCaps, EngineUnavailable, Provider, Started, sizing_shares
from btb.infra.statefile import TrialStates, trial_dirname

__all__ = ["EngineUnavailable", "LocalProvider"]

START_ATTEMPTS = 3  # a port taken between the probe and the engine's bind: try another one
LOG_TAIL_BYTES = 256 << 10  # engine log kept per engine after its trial is stopped
KEEP_LOGS = 200  # trials whose engine logs are kept on this node (oldest removed first)




def _mkdirs_passable(path: Path) -> None:
    """Make `path` and whatever of its parents is missing, each 0711 whatever the umask: the engines run as
    another OS user who must pass through them (never list them). btb's umask is 077, so `mkdir -p` of the
    default /var/lib/btb/engines on a fresh machine made /var/lib/btb 0700 and no engine could start there.
    Dirs that already exist keep their mode (a user's own choice of dir)."""
    missing = []
    while not path.exists():
        missing.append(path)
        path = path.parent
    for d in reversed(missing):
        d.mkdir(exist_ok=True)
        d.chmod(0o711)


class LocalProvider(TrialStates, Provider):
    name = "local"

    def __init__(self, engine_root: Path | str, node: str, settings: Any = None):
        """`settings`: btb Settings (or any object) with `<prefix>_port` / `<prefix>_bin` per engine kind
        (e.g. pg_port, pg_bin); None: defaults, binaries looked up on this machine."""
        self.node = node
        self.root = Path(engine_root) / node
        self.trials_dir = self.root / "trials"  # made at the first start (capabilities() writes nothing)
        self.settings = settings
        self._caps: dict[str, EngineCaps] | None = None
        # nodes sharing a machine (tests, a second worker set) start their port search apart
        self._port_offset = (zlib.crc32(node.encode()) % 64) * 3

    # --- kinds ----------------------------------------------------------------------------------------
    def _options(self, cls: type[LocalEngine]) -> dict[str, Any]:
        prefix = cls.settings_prefix or cls.kind
        s = self.settings
        port = getattr(s, f"{prefix}_port", None) if s is not None else None
        binh = getattr(s, f"{prefix}_bin", "") if s is not None else os.environ.get(f"BTB_{prefix.upper()}_BIN", "")
        return {"port": port, "bin": binh or ""}

    def _engine(self, spec: EngineSpec) -> LocalEngine:
        cls = local_engine(spec.kind)
        return cls(spec, self._options(cls))

    def capabilities(self) -> dict[str, EngineCaps]:
        if self._caps is None:
            can_limit = limit_version() != "none"
            why_limit = "" if can_limit else "no writable cgroup memory controller: budgets are not enforced"
            caps = {}
            for kind in ENGINES:
                try:
                    cls = local_engine(kind)
                    ok, detail = cls.available(self._options(cls))
                except Exception as e:  # noqa: BLE001 - a broken engine module disables that kind only
                    ok, detail = False, f"{type(e).__name__}: {e}"
                why = "; ".join(x for x in ((detail if not ok else ""), why_limit) if x)
                caps[kind] = EngineCaps(kind, available=ok, can_limit=ok and can_limit, can_restart=ok,
                                        can_measure=ok, why=why)
            self._caps = caps
        return self._caps

    def describe(self, kind: str) -> str:
        """What was found for a kind (binaries dir, or why not): for `btb doctor`."""
        try:
            cls = local_engine(kind)
            return cls.available(self._options(cls))[1]
        except Exception as e:  # noqa: BLE001
            return f"{type(e).__name__}: {e}"

    # --- per-trial state ------------------------------------------------------------------------------
    @staticmethod
    def _slot(state: dict) -> CgroupSlot:
        return CgroupSlot.from_state(state["slot"])

    def _engines(self, state: dict) -> dict[str, LocalEngine]:
        return {k: self._engine(EngineSpec.from_json(v)) for k, v in state.get("engines", {}).items()}

    def _slot_name(self, trial_id: str) -> str:
        h = hashlib.sha1(f"{self.node}/{trial_id}".encode()).hexdigest()[:12]
        return f"btb-{re.sub(r'[^A-Za-z0-9_.-]', '_', trial_id)[:40]}-{h}"

    # --- Provider API ---------------------------------------------------------------------------------
    def start(self, trial_id: str, kinds: tuple[str, ...] | list[str], budget: int | None) -> Started:
        kinds = tuple(kinds)
        self.require(kinds, self.node, "")
        self.stop(trial_id)  # fresh engines: whatever this trial left here before goes first
        _mkdirs_passable(self.trials_dir)
        # engines run as another OS user: it may pass through btb's dirs (o+x, never list or read them)
        # into its own 0700 work dir; nothing else of the node's state is open to it
        self.root.parent.chmod(self.root.parent.stat().st_mode | 0o111)
        for p in (self.root, self.trials_dir):
            p.chmod(0o711)
        d = self._dir(trial_id)
        d.mkdir(parents=True, mode=0o711)
        d.chmod(0o711)
        slot = create_slot(self._slot_name(trial_id), budget)
        state: dict[str, Any] = {
            "trial": trial_id, "node": self.node, "kinds": list(kinds), "budget": budget, "created": time.time(),
            "slot": slot.to_state(),
            "engines": {},
        }
        self._save(trial_id, state)  # before anything starts: a failed start is still cleaned up
        endpoints: dict[str, Endpoint] = {}
        kind = kinds[0] if kinds else ""
        try:
            for kind in kinds:
                endpoints[kind] = self._start_engine(trial_id, state, kind, slot)
        except Exception as e:
            try:
                kills = slot.oom_kill_count()
            except Exception:  # noqa: BLE001 - no counter: the cause stays unknown
                kills = None
            self.stop(trial_id)
            raise EngineUnavailable(f"trial {trial_id}: {kind} failed to start on node {self.node}: {e}",
                                    oom_kills=kills) from e
        limit = slot.read_limit()
        mode = "shared-cgroup" if slot.version != "none" else "none"
        return Started(endpoints=endpoints, budget=budget, budget_mode=mode, applied_limit=limit)

    def _start_engine(self, trial_id: str, state: dict, kind: str, slot: CgroupSlot) -> Endpoint:
        cls = local_engine(kind)
        base = cls.default_port(self._options(cls)) + self._port_offset
        used = {e["port"] for e in state["engines"].values()}
        spec = EngineSpec(kind=kind, work=str(self._dir(trial_id) / kind), port=0)
        eng = self._engine(spec)
        for attempt in range(START_ATTEMPTS):
            spec.port = port = portguard.guarded_port(base + 7 * attempt, used)  # only btb ever reaches it
            try:
                eng.prepare()
            finally:
                state["engines"][kind] = spec.to_json()  # what prepare made (socket dir) is cleaned up by stop()
                self._save(trial_id, state)
            try:
                eng.launch(slot)
                return eng.endpoint(slot)
            except Exception:
                eng.kill()
                portguard.release(port)
                if attempt + 1 == START_ATTEMPTS or port_is_free(port):
                    raise  # not a port taken meanwhile by someone else: retrying would not help
        raise AssertionError("unreachable")

    def current(self, trial_id: str, wait_s: float = 0.0) -> dict[str, Endpoint] | None:
        try:
            state = self._load(trial_id)
            if state is None or not state.get("engines"):
                return None
            engines, slot = self._engines(state), self._slot(state)
            deadline = time.monotonic() + max(0.0, wait_s)
            while True:
                if not all(e.alive() for e in engines.values()):
                    return None  # a dead main process does not come back by waiting: restart() it
                if all(e.ready() for e in engines.values()):
                    return {k: e.endpoint(slot) for k, e in engines.items()}
                if time.monotonic() >= deadline:
                    return None
                time.sleep(0.05)
        except Exception:  # noqa: BLE001 - "not usable now" is the answer, never an exception
            return None

    def restart(self, trial_id: str, clean: bool = False) -> dict[str, Endpoint]:
        """Restart in place (same slot): after a crash (`clean=False`: kill what is left), or for a cold run
        (`clean=True`: a clean shutdown first, so the engine starts without crash recovery)."""
        state = self._load(trial_id)
        if state is None or not state.get("engines"):
            raise EngineUnavailable(f"trial {trial_id} has no engines on node {self.node}")
        slot = self._slot(state)
        if slot.version != "none" and not all(d.is_dir() for d in slot.dirs.values()):
            slot = create_slot(slot.name, state.get("budget"))
        engines = self._engines(state)
        try:
            for eng in engines.values():
                if clean and eng.alive():
                    eng.stop()
                eng.kill()
            slot.kill()  # whatever else is left in the trial's slot (orphans of a killed main process)
            out = {}
            for kind, eng in engines.items():
                self._launch(eng, slot, state.get("budget"), state.get("tuning"), state.get("query_timeout_s"))
                out[kind] = eng.endpoint(slot)
            state["engines"] = {k: e.spec.to_json() for k, e in engines.items()}
            self._save(trial_id, state)
            return out
        except Exception as e:
            raise EngineUnavailable(f"trial {trial_id}: restart failed on node {self.node}: {e}") from e

    def park(self, trial_id: str) -> None:
        state = self._load(trial_id)
        if state is None:
            return
        for eng in self._engines(state).values():
            try:
                eng.stop()  # clean shutdown where the engine has one: the data restarts without recovery
            except Exception:  # noqa: BLE001 - killed instead; its data still restarts (crash recovery)
                eng.kill()
        slot = self._slot(state)
        slot.kill()
        slot.remove()
        state["parked"] = time.time()
        self._save(trial_id, state)

    @staticmethod
    def _launch(eng: LocalEngine, slot: CgroupSlot, budget: int | None, tuning: str | None,
                query_timeout_s: float | None = None) -> None:
        """Start an engine in `slot`; engines whose settings follow the budget get it (and the campaign's
        tuning) explicitly, also where cgroups cannot enforce it (then the slot has no limit to read); those
        that take the protocol's query timeout get it."""
        import inspect

        params = inspect.signature(eng.launch).parameters
        kw = {k: v for k, v in (("budget", budget), ("tuning", tuning), ("query_timeout_s", query_timeout_s))
              if k in params and (v is not None or k == "budget")}
        eng.launch(slot, **kw)

    def resume(self, trial_id: str, budget: int | None, tuning: str | None = None,
               query_timeout_s: float | None = None) -> Started:
        state = self._load(trial_id)
        if state is None or not state.get("engines"):
            raise EngineUnavailable(f"{trial_id}: no loaded engines on node {self.node}")
        engines = self._engines(state)
        old = self._slot(state)
        for eng in engines.values():
            if eng.alive():
                eng.stop()
        old.kill()
        old.remove()
        slot = create_slot(self._slot_name(trial_id), budget)
        state.update(budget=budget, parked=None, tuning=tuning, query_timeout_s=query_timeout_s, slot=slot.to_state())
        self._save(trial_id, state)
        try:
            out = {}
            sizing = sizing_shares(tuple(engines), budget)
            for kind, eng in engines.items():
                self._launch(eng, slot, sizing[kind], tuning, query_timeout_s)
                out[kind] = eng.endpoint(slot)
            state["engines"] = {k: e.spec.to_json() for k, e in engines.items()}  # what each launch kept
            self._save(trial_id, state)
        except Exception as e:
            try:
                kills = slot.oom_kill_count()
            except Exception:  # noqa: BLE001
                kills = None
            for eng in engines.values():
                eng.kill()
            raise EngineUnavailable(f"{trial_id}: engines failed to start under {budget} bytes on node "
                                    f"{self.node}: {e}", oom_kills=kills) from e
        mode = "shared-cgroup" if slot.version != "none" else "none"
        return Started(endpoints=out, budget=budget, budget_mode=mode, applied_limit=slot.read_limit(), sizing=sizing)

    def drop_cache(self, trial_id: str) -> bool:
        """posix_fadvise(DONTNEED) on every file of the engines' work dirs (btb.infra.pagecache)."""
        from btb.infra.pagecache import evict

        state = self._load(trial_id)
        if state is None:
            return False
        return evict(spec["work"] for spec in state.get("engines", {}).values()) or not state.get("engines")

    def parked(self, trial_id: str) -> bool:
        state = self._load(trial_id)
        return bool(state and state.get("parked"))

    def stop(self, trial_id: str) -> None:
        d = self._dir(trial_id)
        state = self._load(trial_id)
        if state is None and (self.trials_dir / trial_id).is_dir():  # a leftover listed by its dir name
            d = self.trials_dir / trial_id
        if state is not None:
            for eng in self._engines(state).values():
                try:
                    eng.kill()
                    portguard.release(eng.spec.port)
                    self._keep_log(trial_id, eng)
                    eng.remove()
                except Exception:  # noqa: BLE001 - best effort: the slot kill below catches the rest
                    pass
            slot = self._slot(state)
            slot.kill()
            slot.remove()
        shutil.rmtree(d, ignore_errors=True)

    def _keep_log(self, trial_id: str, eng: LocalEngine) -> None:
        """Keep the tail of an engine's log after its data is gone (why did it crash, or refuse to start?)."""
        src = eng.log_file()
        if src is None or not src.is_file():
            return
        dest_dir = self.root / "logs" / trial_dirname(trial_id)
        dest_dir.mkdir(parents=True, exist_ok=True)
        with open(src, "rb") as f:
            f.seek(max(0, src.stat().st_size - LOG_TAIL_BYTES))
            (dest_dir / f"{eng.kind}.log").write_bytes(f.read())
        kept = sorted((self.root / "logs").iterdir(), key=lambda d: d.stat().st_mtime)
        for old in kept[:-KEEP_LOGS]:
            shutil.rmtree(old, ignore_errors=True)

    def logs(self, trial_id: str) -> dict[str, Path]:
        """Engine logs of a trial: live ones while it runs, else the tails kept when it was stopped."""
        state = self._load(trial_id)
        if state is not None:
            return {k: f for k, e in self._engines(state).items() if (f := e.log_file()) and f.is_file()}
        d = self.root / "logs" / trial_dirname(trial_id)
        return {f.stem: f for f in sorted(d.glob("*.log"))} if d.is_dir() else {}

    def oom_kills(self, trial_id: str) -> int | None:
        state = self._load(trial_id)
        return self._slot(state).oom_kill_count() if state else None

    def applied_limit(self, trial_id: str) -> int | None:
        state = self._load(trial_id)
        return self._slot(state).read_limit() if state else None

    def trials(self) -> list[str]:
        out = []
        for d in sorted(self.trials_dir.iterdir()) if self.trials_dir.is_dir() else []:
            try:
                out.append(json.loads((d / "state.json").read_text())["trial"])
            except (OSError, ValueError, KeyError):
                out.append(d.name)  # a start that died before its state was written: stop(d.name) removes it
        return out

    def slot(self, trial_id: str) -> CgroupSlot | None:
        """The trial's cgroup slot (for the monitor and tests), None when the trial has no engines here."""
        state = self._load(trial_id)
        return self._slot(state) if state else None
