"""The oracle's answers, computed once per dataset and kept beside it (`answers.json`).

Every node's load gate and every `btb validate` needs the same reference answers for the same bindings;
computing them streams the series (btb.dataset.oracle), which at portfolio scale costs more than the
checks themselves. So they are computed once, written atomically into the dataset directory with the
dataset's fingerprint, the oracle's revision and a digest of their own content, and reused by whoever asks
next. A file that does not match (another dataset, an older oracle, bindings changed, a damaged file) is
recomputed, never trusted; a dataset directory btb cannot write into gets its answers in memory only.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from btb.dataset.format import Manifest, load_bindings
from btb.dataset.publish import private_file

ANSWERS = "answers.json"
# Bump when an oracle function's answer for the same (dataset, binding) could change.
# 3: bindings revision 2 (windows by role); answers of older bindings are never reused
ORACLE_REVISION = 3


def _params_key(params: Mapping[str, Any]) -> str:
    return hashlib.sha256(json.dumps(dict(params), sort_keys=True).encode()).hexdigest()[:16]


def _digest(answers: dict) -> str:
    return hashlib.sha256(json.dumps(answers, sort_keys=True).encode()).hexdigest()


@dataclass
class StoredAnswers:
    """Reference rows per (query, binding index), and how they were obtained."""

    fingerprint: str
    rows: dict[str, list[tuple]] = field(default_factory=dict)  # "Q7/2" -> canonical rows
    params: dict[str, str] = field(default_factory=dict)  # "Q7/2" -> params key the rows answer
    seconds: float = 0.0  # oracle time when computed (the file's figure when reused)
    source: str = "computed"  # "computed", "reused" (read from answers.json) or "computed, not stored: why"
    path: Path | None = None

    def get(self, qid: str, binding: int, params: Mapping[str, Any]) -> list[tuple]:
        """The answer of one binding; an answer for other parameters is recomputed, never mistaken."""
        k = f"{qid}/{binding}"
        if k in self.rows and self.params.get(k) == _params_key(params):
            return self.rows[k]
        raise KeyError(f"{k}: no stored oracle answer for these parameters ({self.path or 'in memory'})")


def compute(dataset_dir: Path | str, fingerprint: str) -> StoredAnswers:
    """Every binding of every query of the dataset through the oracle (bounded: see btb.dataset.oracle)."""
    from btb.dataset import oracle

    t0 = time.perf_counter()
    out = StoredAnswers(fingerprint)
    for qid, bs in load_bindings(dataset_dir).items():
        for i, params in enumerate(bs):
            out.rows[f"{qid}/{i}"] = oracle.answer(dataset_dir, qid, params)
            out.params[f"{qid}/{i}"] = _params_key(params)
    out.seconds = time.perf_counter() - t0
    return out


def _read(f: Path, fingerprint: str, bindings: dict[str, list[dict]]) -> StoredAnswers | None:
    try:
        raw = json.loads(f.read_text())
        if (raw.get("fingerprint") != fingerprint or raw.get("oracle_revision") != ORACLE_REVISION
                or raw.get("digest") != _digest(raw["answers"])):
            return None
        got = StoredAnswers(fingerprint, seconds=float(raw.get("seconds", 0.0)), source="reused", path=f)
        for qid, bs in bindings.items():
            for i, params in enumerate(bs):
                k = f"{qid}/{i}"
                a = raw["answers"][k]
                if a["params"] != _params_key(params):
                    return None
                got.rows[k] = [tuple(r) for r in a["rows"]]
                got.params[k] = a["params"]
        return got
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None


def _write(f: Path, got: StoredAnswers) -> None:
    answers = {k: {"params": got.params[k], "rows": [list(r) for r in rows]} for k, rows in got.rows.items()}
    doc = {"fingerprint": got.fingerprint, "oracle_revision": ORACLE_REVISION, "seconds": got.seconds,
           "written": time.time(), "digest": _digest(answers), "answers": answers}
    tmp = f.with_name(f".{f.name}.{os.getpid()}-{uuid.uuid4().hex[:8]}")
    with private_file(tmp) as fh:
        fh.write(json.dumps(doc, sort_keys=True))
    os.replace(tmp, f)


def ensure_answers(dataset_dir: Path | str) -> StoredAnswers:
    """The dataset's oracle answers: read from answers.json when it matches, else computed (once: callers
    on the same machine wait on a lock) and stored there."""
    d = Path(dataset_dir).resolve()
    m = Manifest.read(d)
    bindings = load_bindings(d)
    f = d / ANSWERS
    got = _read(f, m.fingerprint, bindings)
    if got is not None:
        return got
    try:
        lock = private_file(d / f".{ANSWERS}.lock")
    except OSError as e:
        got = compute(d, m.fingerprint)
        got.source = f"computed, not stored: {type(e).__name__}: {e}"[:300]
        return got
    with lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        got = _read(f, m.fingerprint, bindings)  # someone else may have written it while we waited
        if got is not None:
            return got
        got = compute(d, m.fingerprint)
        try:
            _write(f, got)
            got.path = f
        except OSError as e:
            got.source = f"computed, not stored: {type(e).__name__}: {e}"[:300]
    return got

