"""Local engines, one module per kind (a `LocalEngine` subclass each), listed by kind in
`btb.engines.registry.ENGINES` (the one registry: a new engine is its module + its line there).

Modules are imported lazily by the registry: an engine whose Python dependencies are missing disables that
kind only.

Adding e.g. Oxigraph: `btb/infra/engines/oxigraph.py` with `class LocalOxigraph(LocalEngine)`, kind
"oxigraph", implementing `available` (binary found?), `prepare` (work dir, store, secrets; idempotent),
`launch(slot)` (start *inside* `slot` via `slot.wrap(argv)`, with `env=engine_env()`, as `engine_user(...)`,
then wait until it answers), `alive`, `ready` (one quick authenticated request, never raises),
`endpoint(slot)` (DSN/URL with credentials by reference), `kill` (every process of it, orphans included),
and optionally `stop`, `remove`, `log_file`; then its line in the registry's `ENGINES`:

    "oxigraph": EngineEntry("btb.infra.engines.oxigraph:LocalOxigraph", <its container driver or None>),

The provider gives it a private work dir, a port, the trial's cgroup slot and its restart logic.
"""

from __future__ import annotations

from btb.infra.engines.base import EngineSpec, LocalEngine

__all__ = ["EngineSpec", "LocalEngine"]
