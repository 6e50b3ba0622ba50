"""Which provider a node uses to run engines: one factory, so the workflow, `btb validate`, `btb down`
and the stack all start engines the same way (local processes in cgroups here; Docker on servers next)."""

from __future__ import annotations

from btb.config import Settings
from btb.infra.provider import Provider


def make_provider(settings: Settings, node: str | None = None) -> Provider:
    from btb.infra.local import LocalProvider

    return LocalProvider(settings.engine_root, node or settings.node, settings)
