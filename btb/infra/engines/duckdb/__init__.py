"""DuckDB as a local engine: an engine host process (`host.py`) owning one DuckDB database inside the trial's
cgroup, reached by a unix socket (`client.py`, `wire.py`), its settings sized to the budget (`settings.py`);
`process.py` holds the `LocalEngine` the registry names. Nothing is imported here: the host process imports
this package, and it should start with the interpreter, DuckDB and `wire` only.
"""
