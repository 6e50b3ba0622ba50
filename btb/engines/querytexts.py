"""Query texts shipped as package data (`queries/<scenario>/Qn_<name>.<ext>` in the repository, installed as
the package `btb.queries`), read with `importlib.resources` so an installed wheel (and the worker image) finds
them, not only a checkout.

One loader for every dialect: `.sql` (PostgreSQL), `.cypher` (graph engines), `.sparql` (RDF). Texts
shared between scenarios live in `queries/shared/` and are referenced by name, never copied.
"""

from __future__ import annotations

import re
from importlib import resources
from importlib.resources.abc import Traversable

from btb.engines.base import QUERY_IDS

EXTENSIONS = (".sql", ".cypher", ".sparql")
_NAME = re.compile(r"^(Q\d+)(?:_[\w-]+)?\.(sql|cypher|sparql)$")


def queries_root() -> Traversable:
    return resources.files("btb.queries")


def query_dir(scenario_id: str) -> Traversable:
    return queries_root() / scenario_id


def load_queries(scenario_id: str, ext: str | tuple[str, ...] = EXTENSIONS, *, required: bool = True,
                 root: Traversable | None = None) -> dict[str, str]:
    """{qid: text} for Q1–Q13 of a scenario. A missing or duplicated file is an error (a query is never
    silently skipped); `required=False` returns what exists (for per-engine override folders)."""
    exts = (ext,) if isinstance(ext, str) else ext
    d = (root or queries_root()) / scenario_id
    found: dict[str, str] = {}
    if d.is_dir():
        for f in sorted(d.iterdir(), key=lambda p: p.name):
            m = _NAME.match(f.name)
            if not m or f".{m.group(2)}" not in exts:
                continue
            if m.group(1) in found:
                raise ValueError(f"two files for {m.group(1)} in queries/{scenario_id}")
            found[m.group(1)] = f.read_text(encoding="utf-8")
    missing = [q for q in QUERY_IDS if q not in found]
    if required and missing:
        raise FileNotFoundError(f"{scenario_id}: no query file for {', '.join(missing)} in queries/{scenario_id}")
    return found


def load_text(relpath: str) -> str:
    """One named text under queries/ (e.g. 'shared/series/Q7.sql')."""
    return (queries_root() / relpath).read_text(encoding="utf-8")
