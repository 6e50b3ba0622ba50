"""Reading a Brick model file into the few facts the import needs, with errors as one line `file:line: why`.

What is kept: `rdf:type`, the Brick relations (any Brick release's namespace, `brickframe:` included),
model-declared `rdfs:subClassOf`, `rdfs:label`, btb's own `btb:` attribute literals and O1's series chunks
(`btb:Chunk`, so btb's RDF export imports back with its samples). Everything else is counted and dropped.

Streaming: N-Triples (`.nt`) is parsed line by line (rdflib's N-Triples line parser) and only kept facts
are held, so a file of any size streams in bounded memory apart from what it contributes; chunk samples
are decoded as they arrive. Turtle has no line structure to stream, so `.ttl` is parsed whole by rdflib
and refused above MAX_TURTLE_BYTES with a hint to convert it to N-Triples (e.g. `rdfpipe -o nt`).
"""

from __future__ import annotations

import base64
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from btb.dataset.brick import BTB_NS
from btb.dataset.brick_import.hierarchy import is_brick_iri, local_name

RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
RDFS_LABEL = "http://www.w3.org/2000/01/rdf-schema#label"
RDFS_SUBCLASS = "http://www.w3.org/2000/01/rdf-schema#subClassOf"
OWL_NS = "http://www.w3.org/2002/07/owl#"
MAX_TURTLE_BYTES = 256 * 2**20
# Brick relations (local names, any release) and their direction: (btb-side name, forward?)
RELATIONS = {
    "hasPoint": ("hasPoint", True), "isPointOf": ("hasPoint", False),
    "feeds": ("feeds", True), "isFedBy": ("feeds", False), "feedsAir": ("feeds", True),
    "hasLocation": ("hasLocation", True), "isLocationOf": ("hasLocation", False),
    "hasPart": ("hasPart", True), "isPartOf": ("hasPart", False),
    "contains": ("hasPart", True), "isContainedIn": ("hasPart", False),  # Brick 1.0 BrickFrame
    "hasSubMeter": ("feeds", True), "isSubMeterOf": ("feeds", False),  # Brick 1.4 metering: meter -> sub-meter
    "meters": ("meters", True), "isMeteredBy": ("meters", False),  # meter -> what it measures
    "occupies": ("occupies", True),  # btb:occupies (tenants; Brick has none)
}
CHUNK_PROPS = {"point_idx", "day", "times", "values"}


class ModelError(ValueError):
    """A model file that cannot be read: str() is one line `file:line: why`."""


@dataclass
class ModelData:
    """The facts of one model file. Terms: IRIs as str, blank nodes as '_:<label>'."""

    path: Path
    types: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))  # subject -> class IRIs
    relations: list[tuple[str, str, str]] = field(default_factory=list)  # (src, hasPoint|feeds|…, dst), forward
    labels: dict[str, str] = field(default_factory=dict)
    btb_attrs: dict[str, dict[str, object]] = field(default_factory=lambda: defaultdict(dict))  # btb:<column>
    subclass: list[tuple[str, str]] = field(default_factory=list)  # model-declared (child IRI, parent IRI)
    chunks: dict[int, list[tuple[int, np.ndarray, np.ndarray]]] = field(default_factory=lambda: defaultdict(list))
    triples: int = 0
    ignored: Counter = field(default_factory=Counter)  # predicate local name -> triples not used
    streamed: bool = False


def _term(t) -> str:
    from rdflib import BNode

    return f"_:{t}" if isinstance(t, BNode) else str(t)


class _Collector:
    """Sink for rdflib triples: keeps what the import uses."""

    def __init__(self, data: ModelData):
        self.d = data
        self.partial_chunks: dict[str, dict[str, object]] = {}

    def triple(self, s, p, o) -> None:
        from rdflib import Literal

        d = self.d
        d.triples += 1
        p = str(p)
        if p == RDF_TYPE:
            if o is not None and not isinstance(o, Literal):
                if str(o) == BTB_NS + "Chunk" or str(o).startswith(OWL_NS):
                    return  # chunks are series, owl:Ontology / owl:NamedIndividual say nothing of a role
                d.types[_term(s)].append(str(o))
            return
        if p == RDFS_LABEL and isinstance(o, Literal):
            d.labels.setdefault(_term(s), str(o))
            return
        if p == RDFS_SUBCLASS and not isinstance(o, Literal):
            d.subclass.append((_term(s), _term(o)))
            return
        name = local_name(p)
        if p.startswith(BTB_NS):
            if name == "hasChunk":
                return
            if isinstance(o, Literal):
                if str(s).startswith("https://btb.example/chunk/") and name in CHUNK_PROPS:
                    self._chunk(str(s), name, o)
                elif not str(s).startswith("https://btb.example/chunk/"):
                    d.btb_attrs[_term(s)][name] = o.toPython() if name not in ("times", "values") else str(o)
                return
            if name == "occupies":
                d.relations.append((_term(s), "occupies", _term(o)))
                return
        if is_brick_iri(p) and name in RELATIONS and not isinstance(o, Literal):
            rel, forward = RELATIONS[name]
            d.relations.append((_term(s), rel, _term(o)) if forward else (_term(o), rel, _term(s)))
            return
        d.ignored[name] += 1

    def _chunk(self, s: str, name: str, o) -> None:
        c = self.partial_chunks.setdefault(s, {})
        c[name] = str(o) if name in ("times", "values") else int(o.toPython())
        if len(c) == len(CHUNK_PROPS):
            del self.partial_chunks[s]
            t = np.frombuffer(base64.b64decode(c["times"]), dtype="<i8")
            v = np.frombuffer(base64.b64decode(c["values"]), dtype="<f8")
            self.d.chunks[int(c["point_idx"])].append((int(c["day"]), t, v))


def read_model(path: Path | str) -> ModelData:
    """Parse a model file (.ttl/.turtle whole, .nt streamed); ModelError `file:line: why` on bad input."""
    path = Path(path)
    if not path.is_file():
        raise ModelError(f"{path}: no such model file")
    data = ModelData(path=path)
    sink = _Collector(data)
    suffix = path.suffix.lower()
    if suffix in (".nt", ".ntriples"):
        _stream_nt(path, sink)
        data.streamed = True
    else:
        _parse_turtle(path, sink)
    if sink.partial_chunks:
        s = next(iter(sink.partial_chunks))
        missing = sorted(CHUNK_PROPS - set(sink.partial_chunks[s]))
        raise ModelError(f"{path}: series chunk {s} lacks {', '.join('btb:' + m for m in missing)}")
    return data


def _stream_nt(path: Path, sink: _Collector) -> None:
    from rdflib.plugins.parsers.ntriples import ParseError, W3CNTriplesParser

    parser = W3CNTriplesParser(sink)  # type: ignore[arg-type]
    bnodes: dict = {}
    with open(path, encoding="utf-8", errors="strict") as fh:
        lineno = 0
        try:
            for lineno, line in enumerate(fh, start=1):
                parser.line = line.rstrip("\r\n")
                parser.parseline(bnode_context=bnodes)
        except ParseError as e:
            raise ModelError(f"{path}:{lineno}: N-Triples syntax error: {str(e).splitlines()[0][:200]}") from None
        except UnicodeDecodeError as e:
            raise ModelError(f"{path}:{lineno + 1}: not UTF-8 ({e.reason})") from None


def _parse_turtle(path: Path, sink: _Collector) -> None:
    import rdflib
    from rdflib.plugins.parsers.notation3 import BadSyntax

    size = path.stat().st_size
    if size > MAX_TURTLE_BYTES:
        raise ModelError(f"{path}:1: Turtle file of {size / 2**20:.0f} MiB; Turtle is parsed whole, so above "
                         f"{MAX_TURTLE_BYTES // 2**20} MiB convert it to N-Triples (rdfpipe -o nt), which streams")
    g = rdflib.Graph()
    try:
        g.parse(str(path), format="turtle")
    except BadSyntax as e:
        why = str(getattr(e, "_why", "") or str(e).splitlines()[-1])
        raise ModelError(f"{path}:{e.lines + 1}: Turtle syntax error: {why[:200]}") from None
    except UnicodeDecodeError as e:
        raise ModelError(f"{path}:1: not UTF-8 ({e.reason})") from None
    except Exception as e:  # noqa: BLE001 - rdflib raises many kinds; the user needs one line
        raise ModelError(f"{path}:1: cannot parse as Turtle: {type(e).__name__}: {str(e).splitlines()[0][:200]}") from None
    for s, p, o in g:
        sink.triple(s, p, o)
