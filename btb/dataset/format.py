"""On-disk dataset format: the one contract between the generator, the oracle and every ingester.

A dataset is a directory::

    manifest.json            Manifest (below): profile, seed, span, counts, fingerprint
    nodes.parquet            one row per node, typed nullable attribute columns (NODE_SCHEMA)
    edges.parquet            one row per directed relationship (EDGE_SCHEMA)
    series/day-NNNN.parquet  samples of UTC day NNNN (0-based from `start`), sorted by (point_idx, time)
    bindings.json            {"Q1": [{...params...}, ...], ..., "Q13": [...]}

Readers must only rely on what is written here. Bump FORMAT_VERSION whenever the bytes a given
(profile, seed) produces change, so cached datasets and fingerprints never mix versions.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pyarrow as pa

FORMAT_VERSION = 2

MANIFEST = "manifest.json"
NODES = "nodes.parquet"
EDGES = "edges.parquet"
SERIES_DIR = "series"
BINDINGS = "bindings.json"

NODE_TYPES = ("Site", "Building", "Floor", "Space", "Zone", "Equipment", "Point", "Tenant")
RELATIONS = ("CONTAINS", "LOCATED_IN", "HAS_POINT", "FEEDS", "SERVES", "HAS_PART", "IN_ZONE", "OCCUPIES")

# Nullable attribute columns: a column is set only for the node types named in the comment.
NODE_SCHEMA = pa.schema(
    [
        ("id", pa.string()),  # stable string id, e.g. "bldg:1", "floor:1:3", "point:..."
        ("type", pa.string()),  # one of NODE_TYPES
        ("name", pa.string()),  # every type
        ("area_m2", pa.float64()),  # Building, Space
        ("carbon_kg_per_kwh", pa.float64()),  # Building: grid emission factor used by Q9
        ("level", pa.int32()),  # Floor: basement < 0, ground 0, roof last
        ("floor_type", pa.string()),  # Floor
        ("space_type", pa.string()),  # Space
        ("zone_kind", pa.string()),  # Zone: hvac, security, lighting, fire
        ("equipment_type", pa.string()),  # Equipment: AHU, VAV, Meter, UPS, Server, ...
        ("domain", pa.string()),  # Equipment: hvac, electrical, it, security, lighting, ...
        ("meter_role", pa.string()),  # Equipment of type Meter: main / sub
        ("point_kind", pa.string()),  # Point: sensor, setpoint, command, status, alarm, meter
        ("quantity", pa.string()),  # Point: temperature, humidity, co2, power, energy, door, ...
        ("unit", pa.string()),  # Point
        ("interval_s", pa.int32()),  # Point: nominal sampling interval (event series: minimum gap)
        ("point_idx", pa.int32()),  # Point: dense 0..n_points-1, the key used by the series files
        ("brick_class", pa.string()),  # every type: Brick class without prefix (btb:Tenant where Brick has none)
    ]
)

EDGE_SCHEMA = pa.schema([("src", pa.string()), ("rel", pa.string()), ("dst", pa.string())])

# time: UTC microseconds; value: float64 (cumulative meters need it: a year of an xlarge main meter is ~1e7 kWh
# and float32 would step by 1 kWh; every other point's values are float32 numbers stored exactly).
# point_idx refers to nodes.point_idx. No column holds nulls, and the files say so (Parquet REQUIRED columns,
# nullable=False in the Arrow schema read back): writing no definition levels saves ~20 % of the writer's CPU.
SERIES_SCHEMA = pa.schema(
    [
        pa.field("point_idx", pa.int32(), nullable=False),
        pa.field("time", pa.timestamp("us", tz="UTC"), nullable=False),
        pa.field("value", pa.float64(), nullable=False),
    ]
)
US_PER_DAY = 86_400_000_000  # series days are UTC days of `time`
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def epoch_us(iso: str | datetime) -> int:
    """A binding's instant (ISO text or datetime; naive means UTC) in the series' unit: UTC microseconds."""
    dt = iso if isinstance(iso, datetime) else datetime.fromisoformat(str(iso).replace("Z", "+00:00"))
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    return (dt - _EPOCH) // timedelta(microseconds=1)


class DatasetError(Exception):
    """A dataset that cannot be used as it is (damaged, incomplete or not matching its fingerprint).
    str() is one line naming the offending file; btb.dataset.integrity raises it."""


@dataclass
class Manifest:
    format_version: int
    profile: str  # e.g. "small-1w"
    seed: int
    start: str  # ISO 8601 UTC, inclusive, e.g. "2024-01-01T00:00:00Z"
    end: str  # ISO 8601 UTC, exclusive
    days: int
    counts: dict[str, int] = field(default_factory=dict)  # nodes, edges, points, samples, per type...
    bytes: int = 0  # total bytes of the dataset files
    fingerprint: str = ""  # sha256 over file *content* (independent of row-group layout)
    generator: dict = field(default_factory=dict)  # informational: seconds, threads, btb version

    def write(self, directory: Path) -> None:
        (Path(directory) / MANIFEST).write_text(json.dumps(asdict(self), indent=2, sort_keys=True))

    @classmethod
    def read(cls, directory: Path) -> "Manifest":
        return cls(**json.loads((Path(directory) / MANIFEST).read_text()))


def series_files(directory: Path) -> list[Path]:
    """Day files in time order."""
    return sorted((Path(directory) / SERIES_DIR).glob("day-*.parquet"))


def load_bindings(path: Path | str, qid: str | None = None, n: int | None = None) -> Any:
    """The one binding loader: bindings.json of a dataset directory (or the file itself).

    Returns {qid: [params, ...]} for Q1–Q13 (Q5 gets its one empty binding even if the file omits it),
    or the list of one query when `qid` is given; `n` keeps the first n bindings of each query.
    Raises btb.dataset.integrity.DatasetError (one line naming the file) when it is unreadable.
    """
    f = Path(path)
    f = f / BINDINGS if f.is_dir() else f
    try:
        raw = json.loads(f.read_text())
        if not isinstance(raw, dict):
            raise ValueError("not a JSON object")
    except (OSError, ValueError) as e:
        raise DatasetError(f"{f}: unreadable bindings ({type(e).__name__}: {str(e).splitlines()[0][:200]})") from e
    qids = [f"Q{i}" for i in range(1, 14)]
    unbound = raw.get("_unbound") if isinstance(raw.get("_unbound"), dict) else {}
    out = {q: list(raw.get(q) or ([{}] if q == "Q5" and q not in unbound else []))[:n] for q in qids}
    if qid is not None:
        if qid not in out:
            raise KeyError(f"unknown query {qid!r}; expected one of {', '.join(qids)}")
        return out[qid]
    return out


def load_unbound(path: Path | str) -> dict[str, str]:
    """{qid: reason} for the queries no binding can exist for in the dataset's model (an imported Brick
    model without tenants, meters, UPSs…): they are reported `no binding in this model`, never run as an
    empty answer. Generated datasets have none. The key is bindings.json's `_unbound`."""
    f = Path(path)
    f = f / BINDINGS if f.is_dir() else f
    try:
        raw = json.loads(f.read_text())
    except (OSError, ValueError) as e:
        raise DatasetError(f"{f}: unreadable bindings ({type(e).__name__}: {str(e).splitlines()[0][:200]})") from e
    got = raw.get("_unbound") if isinstance(raw, dict) else None
    return {str(k): str(v) for k, v in got.items()} if isinstance(got, dict) else {}
