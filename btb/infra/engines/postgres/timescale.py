"""Which series backend a PostgreSQL engine runs: TimescaleDB hypertables when the extension is installed
for this PostgreSQL and the engine's `timescale` option (or $BTB_PG_TIMESCALE) is `auto` (default) or `on`;
native daily range partitions when it is `off` or the extension is missing (`on` then refuses)."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from btb.infra.engines.postgres.binaries import pg_dirs

TIMESCALE_MODES = ("auto", "off", "on")


def timescale_installed(bin_dir: Path) -> tuple[str | None, str]:
    """(version, where) of the TimescaleDB extension installed for this PostgreSQL, (None, why not)."""
    lib, share = pg_dirs(bin_dir)
    control = share / "extension" / "timescaledb.control"
    if not (lib / "timescaledb.so").exists() or not control.exists():
        return None, f"TimescaleDB is not installed for this PostgreSQL (no timescaledb.so in {lib})"
    m = re.search(r"default_version\s*=\s*'([^']+)'", control.read_text())
    version = m.group(1) if m else "?"
    return version, f"TimescaleDB {version} installed in {lib}"


def timescale_mode(options: dict[str, Any]) -> str:
    mode = str(options.get("timescale") or os.environ.get("BTB_PG_TIMESCALE") or "auto").lower()
    if mode not in TIMESCALE_MODES:
        raise ValueError(f"timescale must be one of {', '.join(TIMESCALE_MODES)}, not {mode!r}")
    return mode


def series_backend_plan(bin_dir: Path, options: dict[str, Any]) -> tuple[bool, str]:
    """(preload TimescaleDB?, why): which series backend a new engine will run, before starting anything."""
    mode = timescale_mode(options)
    version, where = timescale_installed(bin_dir)
    if mode == "off":
        return False, f"timescale: off ({where}): native daily range partitions"
    if version is None:
        hint = ("`make setup` builds it from $BTB_TIMESCALEDB_SOURCE, ../shared/vendor/timescaledb-*.tar.gz or the "
                "pinned release it downloads and verifies (scripts/fetch_timescaledb.sh); "
                "scripts/build_timescaledb.sh SOURCE builds it by hand")
        if mode == "on":
            raise RuntimeError(f"timescale: on but {where}; {hint}")
        return False, f"{where}: native daily range partitions ({hint})"
    return True, f"{where}: preloaded (shared_preload_libraries = 'timescaledb'): hypertables"
