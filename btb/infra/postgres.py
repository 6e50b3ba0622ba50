"""Moved to `btb.infra.engines.postgres` (engines are registered by kind in `btb.infra.engines`).

Kept for callers not yet switched to the provider (infra/stack.py imports `find_pg_bin`; validate.py
starts a server with the old `LocalPostgres(data_dir, port, bin_dir).start()` / `.dsn` / `.destroy()`,
served here by a `LocalProvider` trial). Remove once both use `btb.infra.local.LocalProvider`.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from btb.engines.base import Endpoint
from btb.infra.engines.postgres import DBNAME, PostgresNotFound, find_pg_bin  # noqa: F401


class LocalPostgres:
    """Deprecated: the old single-server API on top of the provider (the port is the provider's choice)."""

    dbname = DBNAME

    def __init__(self, data_dir: Path, port: int, bin_dir: Path | None = None):
        from btb.infra.local import LocalProvider

        self._root = Path(data_dir)
        self._trial = f"standalone-{port}"
        self._provider = LocalProvider(self._root, "standalone")
        self.dsn = ""

    def start(self, memory_limit: int | None = None, slot_name: str | None = None, slot=None) -> Endpoint:
        ep = self._provider.start(self._trial, ("postgres",), memory_limit).endpoints["postgres"]
        self.dsn = ep.dsn
        return ep

    def destroy(self) -> None:
        self._provider.stop(self._trial)
        shutil.rmtree(self._root, ignore_errors=True)
