"""Which provider a node uses to run engines: one factory, so the workflow, `btb validate`, `btb down`
and the stack all start engines the same way. `BTB_PROVIDER=local` (default): processes in cgroups;
`BTB_PROVIDER=docker`: containers through the Docker SDK (btb.infra.docker.provider)."""

from __future__ import annotations

from btb.config import Settings
from btb.infra.provider import Provider

PROVIDERS = ("local", "docker")


def make_provider(settings: Settings, node: str | None = None) -> Provider:
    kind = (getattr(settings, "provider", "") or "local").strip().lower()
    if kind == "docker":
        from btb.infra.docker.provider import DockerProvider

        return DockerProvider(settings.engine_root, node or settings.node, settings)
    if kind != "local":
        raise ValueError(f"BTB_PROVIDER must be one of {', '.join(PROVIDERS)}, not {kind!r}")
    from btb.infra.local import LocalProvider

    return LocalProvider(settings.engine_root, node or settings.node, settings)
