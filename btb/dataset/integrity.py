"""Is this dataset the one its manifest describes? One check before anything uses a dataset.

`verify(path)` reads the manifest, then recomputes the content fingerprint part by part (nodes, edges,
every day file, bindings) and compares each with the digest the generator recorded, so a damaged file is
named — a corrupted block inside a series file is caught even when the file keeps its size. Every problem
is a DatasetError whose message is one line naming the file; callers print it, they do not trace back.
"""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq

from btb.dataset import fingerprint as fp
from btb.dataset.bindings import BINDINGS_REVISION
from btb.dataset.format import BINDINGS, EDGES, FORMAT_VERSION, MANIFEST, NODES, DatasetError, Manifest, series_files

__all__ = ["DatasetError", "verify"]


def _one_line(e: BaseException) -> str:
    msg = str(e).strip().splitlines()
    return f"{type(e).__name__}: {msg[0][:200] if msg else ''}"


def read_manifest(path: Path | str) -> Manifest:
    d = Path(path)
    f = d / MANIFEST
    if not d.is_dir():
        raise DatasetError(f"{d}: not a dataset directory")
    try:
        m = Manifest.read(d)
    except FileNotFoundError:
        raise DatasetError(f"{f}: missing (not a dataset, or generation did not finish)") from None
    except (OSError, ValueError, TypeError) as e:
        raise DatasetError(f"{f}: broken manifest ({_one_line(e)})") from e
    if m.format_version != FORMAT_VERSION:
        raise DatasetError(f"{f}: format version {m.format_version}, this btb reads {FORMAT_VERSION} (regenerate)")
    if not m.fingerprint:
        raise DatasetError(f"{f}: no fingerprint recorded")
    got = m.generator.get("bindings_revision", 1)
    if got != BINDINGS_REVISION:  # its bindings (and the answers, results made with them) are of another kind
        raise DatasetError(f"{f}: bindings of revision {got}, this btb draws revision {BINDINGS_REVISION} "
                           "(query windows by role: dashboards on the recent hours, reports over history); "
                           "regenerate the dataset (btb dataset generate) or import the model again")
    return m


def _part_digest(d: Path, name: str) -> bytes:
    f = d / name
    if not f.is_file():
        raise DatasetError(f"{f}: missing")
    try:
        if name == BINDINGS:
            return fp.hash_bindings(json.loads(f.read_text()))
        if name in (NODES, EDGES):
            return fp.hash_table(pq.read_table(f))
        return fp.hash_series_file(f)
    except DatasetError:
        raise
    except Exception as e:  # noqa: BLE001 - any decoder error means the file is damaged
        kind = "bindings" if name == BINDINGS else "Parquet"
        raise DatasetError(f"{f}: unreadable {kind} ({_one_line(e)})") from e


def verify(path: Path | str) -> Manifest:
    """The manifest of a dataset whose content matches its fingerprint; DatasetError (naming the file)
    otherwise. Reads every file once (content, not sizes)."""
    d = Path(path)
    m = read_manifest(d)
    recorded = m.generator.get("parts") or {}
    days = [f"series/{f.name}" for f in series_files(d)]
    expected_days = [f"series/day-{i:04d}.parquet" for i in range(m.days)]
    for name in expected_days:
        if name not in days:
            raise DatasetError(f"{d / name}: missing (manifest says {m.days} days)")
    parts = []
    for name in [NODES, EDGES, *expected_days, BINDINGS]:
        digest = _part_digest(d, name)
        if name in recorded and recorded[name] != digest.hex():
            raise DatasetError(f"{d / name}: content does not match the fingerprint recorded in {MANIFEST}")
        parts.append((name, digest))
    if fp.combine(parts) != m.fingerprint:
        extra = sorted(set(days) - set(expected_days))
        where = d / extra[0] if extra else d / MANIFEST
        raise DatasetError(f"{where}: dataset content does not match the fingerprint in {MANIFEST}")
    return m
