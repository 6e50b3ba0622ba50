"""Local engines by kind. A new engine is one module (a `LocalEngine` subclass) + one line here.

Modules are imported lazily: an engine whose Python dependencies are missing disables that kind only.

Adding e.g. Oxigraph: `btb/infra/engines/oxigraph.py` with `class LocalOxigraph(LocalEngine)`, kind
"oxigraph", implementing `available` (binary found?), `prepare` (work dir, store, secrets; idempotent),
`launch(slot)` (start *inside* `slot` via `slot.wrap(argv)`, with `env=engine_env()`, as `engine_user(...)`,
then wait until it answers), `alive`, `ready` (one quick authenticated request, never raises),
`endpoint(slot)` (DSN/URL with credentials by reference), `kill` (every process of it, orphans included),
and optionally `stop`, `remove`, `log_file`; then `"oxigraph": "btb.infra.engines.oxigraph:LocalOxigraph"`
below. The provider gives it a private work dir, a port, the trial's cgroup slot and its restart logic.
"""

from __future__ import annotations

import importlib

from btb.infra.engines.base import EngineSpec, LocalEngine

# kind -> "module:Class"
ENGINES: dict[str, str] = {
    "postgres": "btb.infra.engines.postgres:LocalPostgres",
    "falkordb": "btb.infra.engines.falkordb:LocalFalkorDB",
    "memgraph": "btb.infra.engines.memgraph:LocalMemgraph",
    "oxigraph": "btb.infra.engines.oxigraph:LocalOxigraph",
}


def engine_class(kind: str) -> type[LocalEngine]:
    try:
        target = ENGINES[kind]
    except KeyError:
        raise KeyError(f"no local engine of kind {kind!r}; known: {', '.join(ENGINES)}") from None
    module, _, cls = target.partition(":")
    return getattr(importlib.import_module(module), cls)


__all__ = ["ENGINES", "EngineSpec", "LocalEngine", "engine_class"]
