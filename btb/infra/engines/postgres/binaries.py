"""Where this machine's PostgreSQL is: the server binaries (initdb, pg_ctl, postgres) and its library
and share dirs (where an extension such as TimescaleDB is installed)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path


class PostgresNotFound(RuntimeError):
    pass


def pg_dirs(bin_dir: Path) -> tuple[Path, Path]:
    """(pkglibdir, sharedir) of the PostgreSQL whose binaries are in bin_dir: pg_config when it is there,
    else Debian's layout (/usr/lib/postgresql/N/lib, /usr/share/postgresql/N)."""
    pgc = bin_dir / "pg_config"
    if pgc.exists():
        try:
            r = subprocess.run([str(pgc), "--pkglibdir", "--sharedir"], capture_output=True, text=True, timeout=10)
            lib, share = r.stdout.split()[:2]
            return Path(lib), Path(share)
        except (OSError, ValueError, subprocess.TimeoutExpired):
            pass
    return bin_dir.parent / "lib", Path("/usr/share/postgresql") / bin_dir.parent.name


def find_pg_bin(hint: str = "") -> Path:
    """Directory with initdb/pg_ctl/postgres: the hint, $PATH, then Debian's versioned dirs (newest)."""
    candidates: list[Path] = []
    if hint:
        candidates.append(Path(hint))
    if (p := shutil.which("pg_ctl")) and (Path(p).resolve().parent / "initdb").exists():
        candidates.append(Path(p).resolve().parent)
    candidates += sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: int(p.parent.name), reverse=True)
    for c in candidates:
        if (c / "initdb").exists() and (c / "pg_ctl").exists():
            return c
    raise PostgresNotFound(
        "PostgreSQL server binaries not found (initdb, pg_ctl). Install them "
        "(Debian: apt-get install -y postgresql) or set BTB_PG_BIN to their directory."
    )
