"""PostgreSQL, the local engine of P1/P2 and every hybrid's series half, by job:

- `process`: LocalPostgres, the server process (initdb, launch under a budget, stop, endpoint);
- `settings`: scratch, planner and budget-sized memory settings (also used by the Docker provider);
- `timescale`: which series backend a server runs (TimescaleDB hypertables or native partitions);
- `binaries`: where this machine's PostgreSQL binaries and extension dirs are;
- `client`: conninfo, databases, readiness and what a running server reports.

The engine registry (btb.infra.engines.ENGINES) names `btb.infra.engines.postgres:LocalPostgres`.
"""

from btb.infra.engines.postgres.process import LocalPostgres

__all__ = ["LocalPostgres"]
