"""The engine-in-container protocol: what the Docker provider (`provider.py`) asks of the driver of each
engine kind (`containers.py`): its command line, the files copied into it before it starts (configuration
with the engine's password: never an argv or an env), its readiness probe, its clean stop and what its
Endpoint records.

Declared here, apart from both sides, so that neither imports the other: a driver is given its trial's
dir, its engine record and its settings, never the provider; the provider finds the driver of a kind in
`btb.engines.registry` and only speaks this protocol to it.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any, ClassVar, Mapping


def write_private(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(text)


class ContainerEngine:
    """How one engine kind runs in a container. Subclasses per kind; the provider does the rest."""

    kind: ClassVar[str]
    default_port: ClassVar[int]
    data_path: ClassVar[str]  # where the named data volume is mounted
    user: ClassVar[str | None] = None  # container user (None: the image's USER)
    stop_signal: ClassVar[str | None] = None
    needs_secret: ClassVar[bool] = False
    settings_prefix: ClassVar[str] = ""  # btb Settings fields `<prefix>_timescale`, `<prefix>_tuning` (default: kind)

    def __init__(self, trial_dir: Path, eng: dict[str, Any], options: Mapping[str, Any] | None = None):
        """`trial_dir`: the trial's private (0700) state dir; `eng`: the provider's record of this engine
        (port, image, labels, ...), which the driver may annotate (e.g. `runtime`); `options`: the node's
        settings for this kind (`timescale`, `tuning`), read by the provider."""
        self.dir, self.eng, self.options = trial_dir, eng, dict(options or {})

    @property
    def port(self) -> int:
        return int(self.eng["port"])

    @property
    def host(self) -> str:
        return "127.0.0.1"

    @property
    def secret_file(self) -> Path:
        return self.dir / f"{self.kind}.password"

    def secret(self) -> str:
        if not self.secret_file.exists():
            write_private(self.secret_file, secrets.token_urlsafe(24) + "\n")
        return self.secret_file.read_text().strip()

    # what the container runs
    def initialize(self, budget: int | None) -> None:
        """One-time setup of a fresh data volume (e.g. initdb). Default: nothing."""

    def entrypoint(self) -> list[str] | None:
        return None

    def command(self, budget: int | None, tuning: str | None) -> list[str]:
        raise NotImplementedError

    def files(self) -> dict[str, dict[str, tuple[bytes, int, int]]]:
        """Files copied into the container before it starts: {existing dir: {relative path: (bytes, mode, uid)}}
        (relative: the archive never touches the existing dir's own mode, e.g. /tmp's 1777)."""
        return {}

    def ready(self) -> bool:
        raise NotImplementedError

    def after_ready(self) -> None:
        """Once it accepts clients (e.g. create btb's database)."""

    def before_stop(self) -> None:
        """A clean stop: what to tell the engine first (e.g. FalkorDB SHUTDOWN SAVE). Default: nothing."""

    def describe(self, container: Any) -> tuple[str, str, dict[str, Any]]:
        """(dsn, version, extra) of the running engine."""
        raise NotImplementedError
