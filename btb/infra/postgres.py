"""Moved to `btb.infra.engines.postgres` (engines are registered by kind in `btb.infra.engines`).
Kept as a re-export for callers not yet switched (infra/stack.py, validate.py)."""

from btb.infra.engines.postgres import LocalPostgres, PostgresNotFound, find_pg_bin  # noqa: F401
