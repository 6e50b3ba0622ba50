"""Local provider: the engines of a trial as processes on this node, all inside ONE cgroup that carries
the trial's budget (so a hybrid's two engines share it instead of getting it twice).

Trial engine state is kept in a small JSON file per node, so the ingest task and the later query-batch
tasks (possibly in another worker process, or after a worker restart) reattach to the same engines.
"""

from __future__ import annotations

import json
import shutil
import socket
import zlib
from dataclasses import dataclass
from pathlib import Path

from btb.engines.base import Endpoint
from btb.infra.cgroups import CgroupSlot, create_slot
from btb.infra.postgres import LocalPostgres, PostgresNotFound, find_pg_bin
from btb.infra.provider import EngineCaps, EngineUnavailable, Provider, Started


def free_port(start: int, host: str = "127.0.0.1", span: int = 200) -> int:
    for port in range(start, start + span):
        with socket.socket() as s:
            try:
                s.bind((host, port))
                return port
            except OSError:
                continue
    raise RuntimeError(f"no free TCP port in {start}..{start + span - 1}")


@dataclass
class _PostgresKind:
    """How to run kind 'postgres' here."""

    base_port: int
    bin_hint: str

    def make(self, work: Path, port: int | None = None) -> LocalPostgres:
        return LocalPostgres(work / "pgdata", port or free_port(self.base_port), find_pg_bin(self.bin_hint))


class LocalProvider(Provider):
    name = "local"

    def __init__(self, engine_root: Path, node: str, pg_port: int = 5440, pg_bin: str = ""):
        self.root = Path(engine_root) / node
        self.root.mkdir(parents=True, exist_ok=True)
        for d in (self.root, self.root.parent):  # engines may run as another OS user: let it traverse
            d.chmod(d.stat().st_mode | 0o755)
        self.node = node
        # nodes sharing a machine (tests, a second worker set) start their port search apart
        offset = (zlib.crc32(node.encode()) % 64) * 3
        self.kinds = {"postgres": _PostgresKind(pg_port + offset, pg_bin)}

    @property
    def _state_file(self) -> Path:
        return self.root / "engines.json"

    def _load(self) -> dict:
        return json.loads(self._state_file.read_text()) if self._state_file.exists() else {}

    @staticmethod
    def _slot(state: dict) -> CgroupSlot | None:
        """The trial's cgroup slot as recorded in the state file."""
        if not state.get("slot"):
            return None
        return CgroupSlot(**{**state["slot"], "dirs": {k: Path(v) for k, v in state["slot"]["dirs"].items()}})

    def _engines(self, state: dict) -> dict[str, LocalPostgres]:
        out = {}
        slot = self._slot(state)
        for kind, info in state.get("engines", {}).items():
            pg = self.kinds[kind].make(Path(info["work"]), info["port"])
            pg.owns_slot = False
            pg.slot = slot
            out[kind] = pg
        return out

    def capabilities(self) -> dict[str, EngineCaps]:
        try:
            find_pg_bin(self.kinds["postgres"].bin_hint)
            return {"postgres": EngineCaps("postgres", True, True, True, True)}
        except PostgresNotFound as e:
            return {"postgres": EngineCaps("postgres", False, False, False, False, str(e))}

    def trials(self) -> list[str]:
        t = self._load().get("trial")
        return [t] if t else []

    def start(self, trial_id: str, kinds: tuple[str, ...], budget: int | None) -> Started:
        """Fresh engines for a trial (any previous trial's engines on this node are destroyed first)."""
        self.stop(trial_id)
        missing = [k for k in kinds if k not in self.kinds]
        if missing:
            raise EngineUnavailable(f"engine(s) {missing} cannot run locally on node {self.node}")
        slot = create_slot(f"btb-{trial_id.replace(':', '_')}", budget)
        work = self.root / trial_id
        state = {"trial": trial_id, "budget": budget, "engines": {},
                 "slot": {"name": slot.name, "version": slot.version, "applied_limit": slot.applied_limit,
                          "dirs": {k: str(v) for k, v in slot.dirs.items()}}}
        endpoints = {}
        self._state_file.write_text(json.dumps(state))
        for kind in kinds:
            eng = self.kinds[kind].make(work / kind)
            state["engines"][kind] = {"work": str(work / kind), "port": eng.port}
            self._state_file.write_text(json.dumps(state))  # before start: a failed start is still cleaned up
            endpoints[kind] = eng.start(slot=slot)
        return Started(endpoints, budget, "shared-cgroup" if slot.applied_limit else "none", slot.applied_limit)

    def current(self, trial_id: str, wait_s: float = 0.0) -> dict[str, Endpoint] | None:
        """Endpoints of the trial's engines if they are all still running here, else None."""
        state = self._load()
        if state.get("trial") != trial_id:
            return None
        engines = self._engines(state)
        import time
        deadline = time.monotonic() + wait_s
        while True:
            if not engines or not all(e.alive() for e in engines.values()):
                return None
            try:
                return {k: e.endpoint() for k, e in engines.items()}
            except Exception:  # noqa: BLE001 - recovering
                if time.monotonic() > deadline:
                    return None
                time.sleep(0.2)

    def applied_limit(self, trial_id: str) -> int | None:
        """The limit actually written to the trial's cgroup (None: unlimited or no cgroup)."""
        state = self._load()
        return state.get("slot", {}).get("applied_limit") if state.get("trial") == trial_id else None

    def oom_kills(self, trial_id: str) -> int | None:
        """Kernel OOM kills so far in the trial's cgroup (None: no counter on this machine)."""
        state = self._load()
        slot = self._slot(state) if state.get("trial") == trial_id else None
        return slot.oom_kill_count() if slot else None

    def restart(self, trial_id: str) -> dict[str, Endpoint]:
        """Restart a trial's engines in place (after an OOM kill), same data dirs and cgroup."""
        state = self._load()
        if state.get("trial") != trial_id:
            raise EngineUnavailable(f"trial {trial_id} has no engines on node {self.node}")
        slot = None
        out = {}
        for kind, eng in self._engines(state).items():
            slot = slot or eng.slot
            eng.stop("immediate")
            out[kind] = eng.start(slot=slot)
        return out

    def stop(self, trial_id: str) -> None:
        """Destroy whatever trial engines this node holds (data dirs included)."""
        state = self._load()
        engines = self._engines(state) if state else {}
        for eng in engines.values():
            eng.destroy()
        if slot := self._slot(state):
            slot.remove()
        if state.get("trial"):
            shutil.rmtree(self.root / state["trial"], ignore_errors=True)
        self._state_file.unlink(missing_ok=True)
