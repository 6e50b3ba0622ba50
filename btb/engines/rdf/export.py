"""The RDF export of a dataset: Brick-aligned structure (+ O1's series chunks) as N-Triples.

Vocabulary: the dataset's one mapping table `btb.dataset.brick` (relations and node types), so every
paradigm uses the same terms:

- every node is an IRI `<https://btb.example/id/{quoted id}>` with `rdf:type` its dataset `brick_class`
  (e.g. `brick:Zone_Air_Temperature_Sensor`) **and** the Brick class of its node type (`brick:Point`,
  `brick:Equipment`, ...): the superclass is materialized so queries need no reasoner (Oxigraph has none);
- relations: CONTAINS and HAS_PART -> `brick:hasPart`, LOCATED_IN -> `brick:hasLocation`, HAS_POINT ->
  `brick:hasPoint`, FEEDS and SERVES -> `brick:feeds` (Brick's "equipment feeds the space it serves": the
  target's type tells them apart), IN_ZONE -> `brick:isPartOf` (space part of zone), OCCUPIES ->
  `btb:occupies`. Only the forward direction is stored (queries use `^p` for the inverse; Brick's
  `isPointOf`, `isLocationOf`, `isFedBy` are what a reasoner would add);
- attributes Brick has no plain-literal property for are `btb:<column>` literals (`btb:id`, `btb:name`,
  `btb:equipment_type`, `btb:domain`, `btb:meter_role`, `btb:quantity`, `btb:point_idx`, `btb:interval_s`,
  `btb:carbon_kg_per_kwh`, ...), typed xsd:string / xsd:integer / xsd:double;
- classes the dataset names but the Brick ontology shipped by `brickschema` (Brick 1.4) does not define
  (`NOT_IN_BRICK`) are exported as `btb:` classes declared `rdfs:subClassOf` their nearest Brick class,
  never as undefined `brick:` terms. `btb:Tenant` (Brick has no tenant) likewise.

O1's series (`chunk_triples`): one resource per (point, UTC day) `<https://btb.example/chunk/{idx}/{day}>`,
`a btb:Chunk`, `btb:point_idx`, `btb:day` (days since the Unix epoch), `btb:count`, `btb:min`, `btb:max`,
`btb:sum`, `btb:first_us`, and the samples in two `xsd:base64Binary` literals: `btb:times` (int64 epoch
microseconds, little-endian) and `btb:values` (float64, little-endian); the point links to it with
`btb:hasChunk`.
"""

from __future__ import annotations

import base64
import math
from pathlib import Path
from typing import Any, Iterable, Iterator
from urllib.parse import quote

import numpy as np

from btb.dataset.brick import BRICK_NS, BTB_NS, brick_relation
from btb.dataset.format import RELATIONS, series_files
from btb.engines.postgres.schema import read_edges, read_nodes  # the dataset readers every loader uses

RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
RDFS_SUBCLASS = "http://www.w3.org/2000/01/rdf-schema#subClassOf"
XSD = "http://www.w3.org/2001/XMLSchema#"
ID_BASE = "https://btb.example/id/"
CHUNK_BASE = "https://btb.example/chunk/"
NODE_CLASS = {"Site": "Site", "Building": "Building", "Floor": "Floor", "Space": "Space", "Zone": "Zone",
              "Equipment": "Equipment", "Point": "Point"}  # Tenant: btb:Tenant (its brick_class)
# dataset brick_class -> the Brick 1.4 class a btb: stand-in is declared a subclass of
NOT_IN_BRICK = {"Door_Status": "Status", "Uninterruptible_Power_Supply": "Electrical_Equipment",
                "Panelboard": "Electrical_Equipment", "Cooling_Valve_Command": "Valve_Command",
                "Heating_Valve_Command": "Valve_Command"}
INT_ATTRS = {"level", "interval_s", "point_idx"}
FLOAT_ATTRS = {"area_m2", "carbon_kg_per_kwh"}
SKIP_ATTRS = {"type", "brick_class"}


def node_iri(node_id: str) -> str:
    return ID_BASE + quote(node_id, safe=":-_.~")


def chunk_iri(idx: int, day: int) -> str:
    return f"{CHUNK_BASE}{idx}/{day}"


def expand(curie: str) -> str:
    prefix, _, local = curie.partition(":")
    return {"brick": BRICK_NS, "btb": BTB_NS}[prefix] + local


def class_iri(brick_class: str) -> str:
    if brick_class.startswith("btb:"):
        return expand(brick_class)
    if brick_class in NOT_IN_BRICK:
        return BTB_NS + brick_class
    return BRICK_NS + brick_class


def _esc(s: str) -> str:
    return s.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\r", "\\r")


def lit(v: Any) -> str:
    """An N-Triples literal for a Python value (bool excluded: the dataset has none)."""
    if isinstance(v, (int, np.integer)):
        return f'"{int(v)}"^^<{XSD}integer>'
    if isinstance(v, (float, np.floating)):
        f = float(v)
        if math.isnan(f) or math.isinf(f):
            return f'"{"NaN" if math.isnan(f) else ("INF" if f > 0 else "-INF")}"^^<{XSD}double>'
        return f'"{f!r}"^^<{XSD}double>'
    return f'"{_esc(str(v))}"'


def _attr_literal(k: str, v: Any) -> str:
    if k in INT_ATTRS:
        return lit(int(v))
    if k in FLOAT_ATTRS:
        return lit(float(v))
    return lit(str(v))


def schema_triples() -> Iterator[str]:
    """The btb: classes that stand in for classes Brick lacks, with their Brick superclass."""
    for cls, parent in NOT_IN_BRICK.items():
        yield f"<{BTB_NS}{cls}> <{RDFS_SUBCLASS}> <{BRICK_NS}{parent}> .\n"
    yield f"<{BTB_NS}Tenant> <{RDF_TYPE}> <http://www.w3.org/2002/07/owl#Class> .\n"


_PREDICATES = {rel: expand(brick_relation(rel)) for rel in RELATIONS}


def node_lines(n: dict[str, Any]) -> Iterator[str]:
    """N-Triples lines of one node (its classes and attributes; None attributes are absent)."""
    s = f"<{node_iri(n['id'])}>"
    yield f"{s} <{RDF_TYPE}> <{class_iri(n['brick_class'])}> .\n"
    top = NODE_CLASS.get(n["type"])
    if top and top != n["brick_class"]:
        yield f"{s} <{RDF_TYPE}> <{BRICK_NS}{top}> .\n"
    for k, v in n.items():
        if k not in SKIP_ATTRS and v is not None:
            yield f"{s} <{BTB_NS}{k}> {_attr_literal(k, v)} .\n"


def edge_line(src: str, rel: str, dst: str) -> str:
    """The N-Triples line of one dataset relationship (its Brick predicate)."""
    return f"<{node_iri(src)}> <{_PREDICATES[rel]}> <{node_iri(dst)}> .\n"


def structure_triples(dataset_dir: Path, counts: dict[str, int] | None = None) -> Iterator[str]:
    """N-Triples lines of the structure (nodes, types, attributes, relations)."""
    counts = counts if counts is not None else {}
    yield from schema_triples()
    nodes = read_nodes(dataset_dir)
    for n in nodes:
        yield from node_lines(n)
        counts[n["type"]] = counts.get(n["type"], 0) + 1
    n_edges = 0
    for src, rel, dst in read_edges(dataset_dir):
        yield edge_line(src, rel, dst)
        counts[rel] = counts.get(rel, 0) + 1
        n_edges += 1
    counts["nodes"] = len(nodes)
    counts["edges"] = n_edges


def b64(a: np.ndarray) -> str:
    return base64.b64encode(a.tobytes()).decode("ascii")


def decode_times(s: str) -> np.ndarray:
    return np.frombuffer(base64.b64decode(s), dtype="<i8")


def decode_values(s: str) -> np.ndarray:
    return np.frombuffer(base64.b64decode(s), dtype="<f8")


def chunk_lines(point_iri: str, idx: int, day: int, ts: np.ndarray, vs: np.ndarray) -> str:
    """The 11 N-Triples lines of one (point, day) chunk and the point's link to it (the loader and O1's
    append path write chunks through this one function)."""
    P, b64t = BTB_NS, f"^^<{XSD}base64Binary>"
    s = f"<{chunk_iri(idx, day)}>"
    ts = np.ascontiguousarray(ts, dtype="<i8")
    vs = np.ascontiguousarray(vs, dtype="<f8")
    return (f"<{point_iri}> <{P}hasChunk> {s} .\n"
            f"{s} <{RDF_TYPE}> <{P}Chunk> .\n"
            f"{s} <{P}point_idx> {lit(idx)} .\n"
            f"{s} <{P}day> {lit(day)} .\n"
            f"{s} <{P}count> {lit(len(ts))} .\n"
            f"{s} <{P}min> {lit(float(vs.min()))} .\n"
            f"{s} <{P}max> {lit(float(vs.max()))} .\n"
            f"{s} <{P}sum> {lit(float(vs.sum()))} .\n"
            f"{s} <{P}first_us> {lit(int(ts[0]))} .\n"
            f'{s} <{P}times> "{b64(ts)}"{b64t} .\n'
            f'{s} <{P}values> "{b64(vs)}"{b64t} .\n')


def chunk_triples(dataset_dir: Path, counts: dict[str, int] | None = None) -> Iterator[str]:
    """N-Triples lines of O1's (point, day) chunks."""
    from btb.engines.graph.chunks import day_chunks  # the one per-(point, day) splitter (F1 uses it too)

    counts = counts if counts is not None else {}
    n_chunks = n_samples = 0
    idx_iri: dict[int, str] = {}
    for n in read_nodes(dataset_dir):
        if "point_idx" in n:
            idx_iri[int(n["point_idx"])] = node_iri(n["id"])
    for f in series_files(dataset_dir):
        for c in day_chunks(f):
            yield chunk_lines(idx_iri[c["idx"]], c["idx"], c["day"], c["ts"], c["vs"])
            n_chunks += 1
            n_samples += c["n"]
    counts["chunks"] = n_chunks
    counts["samples"] = n_samples


CHUNK_TRIPLES = 11  # triples per chunk in `chunk_triples`


def write_nt(dataset_dir: Path, out: Path, series: bool = True) -> dict[str, int]:
    """Write the export to one N-Triples file; returns counts (nodes, edges, chunks, samples, triples)."""
    counts: dict[str, int] = {}
    lines = 0
    with open(out, "w", encoding="utf-8") as fh:
        for part in ([structure_triples(dataset_dir, counts)] + ([chunk_triples(dataset_dir, counts)] if series else [])):
            for line in part:
                fh.write(line)
                lines += line.count("\n")
    counts["triples"] = lines
    return counts


def stream_from_process(dataset_dir: Path, series: bool, counts: dict[str, int], block: int = 1 << 20) -> Iterator[bytes]:
    """The export as byte blocks, generated by a child process (`python -m btb.engines.rdf.export`).

    Generating in-process serializes the load: with a thread, the sender needs the GIL back after every
    partial socket write while the generator holds it; inline, the server idles while Python writes a
    block (small-1w: 17.9-20.5 s vs 9.3-11.5 s for POSTing a finished file). A child process generates on
    the other core while this one only moves bytes from a pipe to the socket. `counts` is filled at the end."""
    import json
    import subprocess
    import sys
    import tempfile

    with tempfile.TemporaryFile() as err:
        argv = [sys.executable, "-m", "btb.engines.rdf.export", str(dataset_dir)] + (["--series"] if series else [])
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=err)
        try:
            while chunk := proc.stdout.read(block):
                yield chunk
        finally:
            proc.stdout.close()
            rc = proc.wait()
        err.seek(0)
        text = err.read().decode("utf-8", "replace")
        if rc != 0:
            raise RuntimeError(f"RDF export of {dataset_dir} failed (exit {rc}): {text[-1000:]}")
        counts.update(json.loads(text.strip().splitlines()[-1]))


def encode(lines: Iterable[str], block: int = 1 << 20) -> Iterator[bytes]:
    """UTF-8 blocks of about `block` bytes (a streamed HTTP body)."""
    buf: list[str] = []
    size = 0
    for line in lines:
        buf.append(line)
        size += len(line)
        if size >= block:
            yield "".join(buf).encode("utf-8")
            buf, size = [], 0
    if buf:
        yield "".join(buf).encode("utf-8")


def main(argv: list[str] | None = None) -> None:
    """`python -m btb.engines.rdf.export DATASET [--series]`: N-Triples on stdout, counts (JSON) on stderr."""
    import argparse
    import json
    import sys

    ap = argparse.ArgumentParser(description=main.__doc__)
    ap.add_argument("dataset", type=Path)
    ap.add_argument("--series", action="store_true", help="include O1's (point, day) chunks")
    a = ap.parse_args(argv)
    counts: dict[str, int] = {}
    parts = [structure_triples(a.dataset, counts)] + ([chunk_triples(a.dataset, counts)] if a.series else [])
    out = sys.stdout.buffer
    lines = 0
    buf: list[str] = []
    size = 0
    for line in (x for part in parts for x in part):
        buf.append(line)
        size += len(line)
        lines += line.count("\n")
        if size >= 1 << 20:
            out.write("".join(buf).encode("utf-8"))
            buf, size = [], 0
    out.write("".join(buf).encode("utf-8"))
    out.flush()
    counts["triples"] = lines
    sys.stderr.write(json.dumps(counts) + "\n")


if __name__ == "__main__":
    main()
