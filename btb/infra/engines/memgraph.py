"""Memgraph as a local engine kind: present so that M1/M2 have an engine set every node can reason about.

Memgraph ships as a Docker image or a distribution package, neither of which exists on this node class:
`available()` finds a `memgraph` binary (BTB_MEMGRAPH_BIN, $PATH, /usr/lib/memgraph/memgraph) or reports
"unavailable: no Memgraph engine on this node", which `btb doctor` shows and which keeps M1/M2 off this
node's queues (a submit of M1/M2 is refused while no live node serves the engine set). Starting a binary
that *is* found is not implemented here yet (it needs a Memgraph to test against): it raises with the
same reason instead of pretending. The Bolt client path (`btb.engines.graph.bolt`) is what M1/M2 use,
against any Memgraph URI (tests: BTB_MEMGRAPH_URI).
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from btb.cgroups import CgroupSlot
from btb.engines.base import Endpoint
from btb.infra.engines.base import LocalEngine

UNAVAILABLE = "unavailable: no Memgraph engine on this node"


def find_memgraph(hint: str = "") -> Path | None:
    for c in (hint, shutil.which("memgraph") or "", "/usr/lib/memgraph/memgraph"):
        if c and Path(c).is_file():
            return Path(c)
    return None


class LocalMemgraph(LocalEngine):
    kind = "memgraph"
    settings_prefix = "memgraph"

    @classmethod
    def available(cls, options: dict[str, Any]) -> tuple[bool, str]:
        b = find_memgraph(options.get("bin", ""))
        if b is None:
            return False, f"{UNAVAILABLE} (no memgraph binary; Memgraph runs from its Docker image or a server)"
        return False, f"{UNAVAILABLE}: found {b}, but btb cannot start a local Memgraph yet"

    @classmethod
    def default_port(cls, options: dict[str, Any]) -> int:
        return int(options.get("port") or 7690)

    def prepare(self) -> None:
        raise RuntimeError(UNAVAILABLE)

    def launch(self, slot: CgroupSlot) -> None:
        raise RuntimeError(UNAVAILABLE)

    def alive(self) -> bool:
        return False

    def ready(self) -> bool:
        return False

    def endpoint(self, slot: CgroupSlot | None) -> Endpoint:
        raise RuntimeError(UNAVAILABLE)

    def kill(self) -> None:
        return None
