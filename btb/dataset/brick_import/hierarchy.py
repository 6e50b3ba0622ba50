"""The Brick class hierarchy (`rdfs:subClassOf*`, `owl:equivalentClass`, `brick:isReplacedBy`) of every
Brick version that `brickschema` ships (1.1 … 1.5), so a model written against any of them maps.

Why the union of versions: real models mix classes of several releases (Soda Hall uses 1.0.2 terms next
to 1.1 ones); a class renamed or removed later still has its old superclasses in the release that
defined it, and deprecated classes point to their replacement. Parsing five ontologies costs ~6 s, so
the extracted edges are cached as JSON keyed by the brickschema version and the ontology files' sizes.
"""

from __future__ import annotations

import json
import os
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

BRICK_NS = "https://brickschema.org/schema/Brick#"
REC_NS = "https://w3id.org/rec#"
RDFS_SUBCLASS = "http://www.w3.org/2000/01/rdf-schema#subClassOf"
OWL_EQUIV = "http://www.w3.org/2002/07/owl#equivalentClass"
REPLACED_BY = BRICK_NS + "isReplacedBy"
CACHE_VERSION = 1


def local_name(iri: str) -> str:
    """The part after the last '#' or '/'."""
    for sep in ("#", "/"):
        if sep in iri:
            iri = iri.rsplit(sep, 1)[1]
    return iri


def is_brick_iri(iri: str) -> bool:
    """Any Brick release's namespace (…/schema/Brick#, …/schema/1.0.2/Brick#, BrickFrame#) or REC's."""
    return ("brickschema.org/schema/" in iri and ("Brick#" in iri or "BrickFrame#" in iri)) or iri.startswith(REC_NS)


@dataclass(eq=False)  # hashed by identity: per-hierarchy caches key on it
class Hierarchy:
    """Brick classes by local name: parents (subClassOf + equivalents + replacement), for walking up."""

    parents: dict[str, list[str]] = field(default_factory=dict)
    versions: list[str] = field(default_factory=list)

    def known(self, cls: str) -> bool:
        return cls in self.parents

    def add(self, child: str, parent: str) -> None:
        if child != parent:
            lst = self.parents.setdefault(child, [])
            if parent not in lst:
                lst.append(parent)
            self.parents.setdefault(parent, [])

    def ancestors(self, cls: str) -> list[tuple[str, int]]:
        """(class, distance) breadth-first from `cls` itself (distance 0); each class once (cycles safe)."""
        out, seen, q = [], {cls}, deque([(cls, 0)])
        while q:
            c, d = q.popleft()
            out.append((c, d))
            for p in self.parents.get(c, ()):
                if p not in seen:
                    seen.add(p)
                    q.append((p, d + 1))
        return out

    def is_a(self, cls: str, target: str) -> bool:
        return any(c == target for c, _ in self.ancestors(cls))

    def nearest(self, cls: str, candidates) -> str | None:
        """The candidate closest above `cls` (ties: the first in breadth-first order)."""
        for c, _ in self.ancestors(cls):
            if c in candidates:
                return c
        return None


def _ontology_files() -> list[tuple[str, Path]]:
    import brickschema

    root = Path(brickschema.__file__).parent / "ontologies"
    out = []
    for d in sorted(root.iterdir()) if root.is_dir() else []:
        f = d / "Brick.ttl"
        if f.is_file():
            out.append((d.name, f))
    return out


def _cache_path(key: str) -> Path:
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "btb"
    return base / f"brick-hierarchy-{key}.json"


def _extract(path: Path) -> list[tuple[str, str]]:
    import rdflib

    g = rdflib.Graph()
    g.parse(str(path), format="turtle")
    edges = []
    for pred in (RDFS_SUBCLASS, OWL_EQUIV, REPLACED_BY):
        for s, o in g.subject_objects(rdflib.URIRef(pred)):
            if isinstance(s, rdflib.URIRef) and isinstance(o, rdflib.URIRef) and is_brick_iri(str(s)) and is_brick_iri(str(o)):
                edges.append((local_name(str(s)), local_name(str(o))))
                if pred == OWL_EQUIV:
                    edges.append((local_name(str(o)), local_name(str(s))))
    return edges


_LOADED: Hierarchy | None = None


def load_hierarchy() -> Hierarchy:
    """Every shipped Brick version's class edges (cached on disk, then in memory)."""
    global _LOADED
    if _LOADED is not None:
        return _LOADED
    try:
        import brickschema  # noqa: F401
        from importlib.metadata import version

        bver = version("brickschema")
    except ImportError as e:  # pragma: no cover - a declared dependency
        raise RuntimeError("btb dataset import needs the 'brickschema' package (pip install brickschema)") from e
    files = _ontology_files()
    key = f"v{CACHE_VERSION}-{bver}-" + "-".join(f"{v}_{f.stat().st_size}" for v, f in files)
    cache = _cache_path(key)
    h = Hierarchy(versions=[v for v, _ in files])
    data = None
    if cache.is_file():
        try:
            data = json.loads(cache.read_text())
        except (OSError, ValueError):
            data = None
    if data is None:
        data = {v: _extract(f) for v, f in files}
        try:
            cache.parent.mkdir(parents=True, exist_ok=True)
            tmp = cache.with_suffix(f".tmp{os.getpid()}")
            tmp.write_text(json.dumps(data))
            os.replace(tmp, cache)
        except OSError:
            pass  # a read-only home: parse again next time
    for v in sorted(data, reverse=True):  # newest release first: its parents come first in each list
        for child, parent in data[v]:
            h.add(child, parent)
    _LOADED = h
    return h
