"""Local engines by kind. A new engine is one module (a `LocalEngine` subclass) + one line here.

Modules are imported lazily: an engine whose Python dependencies are missing disables that kind only.
"""

from __future__ import annotations

import importlib

from btb.infra.engines.base import EngineSpec, LocalEngine

# kind -> "module:Class"
ENGINES: dict[str, str] = {
    "postgres": "btb.infra.engines.postgres:LocalPostgres",
}


def engine_class(kind: str) -> type[LocalEngine]:
    try:
        target = ENGINES[kind]
    except KeyError:
        raise KeyError(f"no local engine of kind {kind!r}; known: {', '.join(ENGINES)}") from None
    module, _, cls = target.partition(":")
    return getattr(importlib.import_module(module), cls)


__all__ = ["ENGINES", "EngineSpec", "LocalEngine", "engine_class"]
