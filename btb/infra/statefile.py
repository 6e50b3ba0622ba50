"""Per-trial state on disk, shared by the providers (local processes, Docker containers).

A provider keeps what it needs to find a trial's engines again after a worker restart in one JSON file per
trial; writes are atomic (temp file + rename), so a crash never leaves half a state behind.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from pathlib import Path
from typing import Any


def trial_dirname(trial_id: str) -> str:
    """A directory name for any trial id: readable when the id is tame, always short and unique."""
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", trial_id)
    if safe == trial_id and len(safe) <= 100 and not safe.startswith("."):
        return safe
    return f"{safe.lstrip('.')[:80]}-{hashlib.sha1(trial_id.encode()).hexdigest()[:12]}"


def write_json(path: Path, data: Any) -> None:
    """Replace `path` with `data` as JSON, atomically, 0600 whatever the umask (a trial's dir is 0711 for
    the engines' users: its state, names of ports and dirs included, is btb's own)."""
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        os.fchmod(f.fileno(), 0o600)
        f.write(json.dumps(data))
    os.replace(tmp, path)


def read_json(path: Path) -> Any:
    """`path`'s JSON, or None when it is missing or unreadable."""
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


class TrialStates:
    """`_dir` / `_load` / `_save` of a provider whose trials live under `self.trials_dir`."""

    trials_dir: Path

    def _dir(self, trial_id: str) -> Path:
        return self.trials_dir / trial_dirname(trial_id)

    def _load(self, trial_id: str) -> dict | None:
        state = read_json(self._dir(trial_id) / "state.json")
        return state if isinstance(state, dict) and state.get("trial") == trial_id else None

    def _save(self, trial_id: str, state: dict) -> None:
        write_json(self._dir(trial_id) / "state.json", state)
