"""FalkorDB, the local engine of F1/F2's graph half, by job:

- `process`: LocalFalkorDB, the server process (redis-server + falkordb.so under a budget, stop, endpoint);
- `settings`: scratch settings, module arguments, budget-sized memory settings, redis.conf (also Docker's);
- `binaries`: where redis-server and falkordb.so are, and the OS user that runs them;
- `client`: connections, readiness, SHUTDOWN SAVE and what a running server reports.

The engine registry (btb.infra.engines.ENGINES) names `btb.infra.engines.falkordb:LocalFalkorDB`.
"""

from btb.infra.engines.falkordb.process import LocalFalkorDB

__all__ = ["LocalFalkorDB"]
