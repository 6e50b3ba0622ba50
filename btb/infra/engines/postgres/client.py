"""Clients of a btb PostgreSQL server, local process or container: conninfo strings (password by
reference, a passfile, never inline), databases made fresh or ensured, readiness, and what the server
reports about itself (version, settings, TimescaleDB) for the Endpoint."""

from __future__ import annotations

from typing import Any

from btb.infra.engines.postgres.settings import RECORDED_SETTINGS

SUPERUSER = "postgres"
DBNAME = "btb"
AUTH = "scram-sha-256"


def conninfo(**kw: Any) -> str:
    from psycopg.conninfo import make_conninfo

    return make_conninfo(**{k: str(v) for k, v in kw.items()})


def with_dbname(dsn: str, dbname: str) -> str:
    """The same conninfo (host, port, passfile, ...) for another database."""
    from psycopg.conninfo import conninfo_to_dict, make_conninfo

    return make_conninfo(**{**conninfo_to_dict(dsn), "dbname": dbname})


def fresh_database(dsn: str, name: str) -> str:
    """Drop and create database `name` on the server `dsn` points at; returns the DSN for it.
    (One scratch server, one database per scenario: validation and tests.)"""
    import psycopg
    from psycopg import sql

    with psycopg.connect(with_dbname(dsn, "postgres"), autocommit=True, connect_timeout=10) as c:
        c.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name)))
        c.execute(sql.SQL("create database {}").format(sql.Identifier(name)))
    return with_dbname(dsn, name)


def ensure_database(admin_dsn: str, dbname: str = DBNAME) -> None:
    """Create btb's database on the server `admin_dsn` (a DSN for database `postgres`) when it is missing."""
    import psycopg
    from psycopg import sql

    with psycopg.connect(admin_dsn, autocommit=True, connect_timeout=10) as c:
        if not c.execute("select 1 from pg_database where datname=%s", (dbname,)).fetchone():
            c.execute(sql.SQL("create database {}").format(sql.Identifier(dbname)))


def accepts_clients(dsn: str, timeout_s: int = 2) -> bool:
    """One quick authenticated `select 1` (never raises): recovering, starting, refused are all "not now"."""
    try:
        import psycopg

        with psycopg.connect(dsn, connect_timeout=timeout_s, autocommit=True) as c:
            c.execute("select 1").fetchone()
        return True
    except Exception:  # noqa: BLE001
        return False


def server_report(dsn: str) -> tuple[str, dict[str, str], bool, str | None]:
    """(server_version, RECORDED_SETTINGS as the server shows them, TimescaleDB preloaded?, its version):
    what every Endpoint of a PostgreSQL engine records, local process or container."""
    import psycopg

    with psycopg.connect(dsn, connect_timeout=10) as c:
        version = c.execute("show server_version").fetchone()[0]
        shown = dict(c.execute("select name, current_setting(name) from unnest(%s::text[]) name",
                               (list(RECORDED_SETTINGS),)).fetchall())
        preloaded = "timescaledb" in shown.get("shared_preload_libraries", "")
        row = c.execute("select default_version from pg_available_extensions where name = 'timescaledb'"
                        ).fetchone() if preloaded else None
    return version, shown, preloaded, (row[0] if row else None)
