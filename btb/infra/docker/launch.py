"""What the Docker provider does to one engine's container: create it (image, volume, labels, budget,
the driver's command line and files), start it, wait until it accepts clients, describe it as an
Endpoint, stop it cleanly, keep its log. A mixin of `DockerProvider` (`provider.py`), which holds the
trial's state and the Provider API; each engine kind's own part comes from its driver (`protocol.py`).
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import shutil
import tarfile
import time
from pathlib import Path
from typing import Any

from btb.engines.base import Endpoint
from btb.engines.registry import container_driver
from btb.infra import portguard
from btb.infra.docker.budget import container_cgroup, oom_kill_count, parent_of
from btb.infra.docker.images import Resolved, resolve
from btb.infra.docker.protocol import ContainerEngine
from btb.infra.ports import port_is_free
from btb.infra.provider import EngineUnavailable, sizing_shares
from btb.infra.statefile import trial_dirname

START_ATTEMPTS = 3  # a port taken between the probe and the engine's bind: try another one
STOP_TIMEOUT_S = 30
LOG_TAIL_LINES = 400
KEEP_LOGS = 200
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


class ContainerLauncher:
    """The container half of `DockerProvider`: needs its `node`, `root`, `settings`, `ready_timeout_s`,
    `_port_offset`, `_client`, `_info`, `_images` and its per-trial state (`_dir`, `_save`)."""

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

    def _base_name(self, trial_id: str) -> str:
        h = hashlib.sha1(f"{self.node}/{trial_id}".encode()).hexdigest()[:10]
        return f"btb-{_safe(self.node, 16)}-{_safe(trial_id, 40)}-{h}"

    def _labels(self, trial_id: str, kind: str, role: str) -> dict[str, str]:
        return {LABEL: "docker", "btb.node": self.node, "btb.trial": trial_id, "btb.kind": kind, "btb.role": role}

    @staticmethod
    def _driver_class(kind: str) -> type[ContainerEngine]:
        return container_driver(kind)

    def _driver(self, trial_id: str, eng: dict) -> ContainerEngine:
        cls = self._driver_class(eng["kind"])
        return cls(self._dir(trial_id), eng, self._options(cls.settings_prefix or cls.kind))

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
        drv = self._driver_class(kind)
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
        parent = parent_of(state)
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
        drv = self._driver(trial_id, eng)
        if not eng["initialized"]:
            drv.initialize(state.get("budget"))
            self._save(trial_id, state)
        used = {e["port"] for k, e in state["engines"].items() if k != kind}
        base_port = drv.default_port + self._port_offset
        last: Exception | None = None
        for attempt in range(START_ATTEMPTS):
            eng["port"] = port = portguard.guarded_port(base_port + 7 * attempt, used)
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
                portguard.release(port)
                if e.oom_kills or attempt + 1 == START_ATTEMPTS or port_is_free(port):
                    raise  # not a port taken meanwhile by someone else: retrying would not help
        raise last or EngineUnavailable(f"{kind}: did not start")

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
        return oom_kill_count(self._container_cgroup(None, c), str(self.info().get("CgroupVersion")))

    def _container_cgroup(self, state: dict | None, c: Any) -> str | None:
        """The container's own memory cgroup dir (from its main process, else from the parent's layout)."""
        return container_cgroup(c, str(self.info().get("CgroupVersion")), parent_of(state) if state else None)

    def _endpoint(self, trial_id: str, state: dict, drv: ContainerEngine, c: Any) -> Endpoint:
        c.reload()
        dsn, version, extra = drv.describe(c)
        parent = parent_of(state)
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
