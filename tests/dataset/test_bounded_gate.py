"""The gate's oracle answers at a dataset far larger than the memory the computing process may use.

small-6m holds 379.8 M samples: 1.4 GB of Parquet, ~7.6 GB decoded (20 bytes a sample). The answers are computed in a child
process inside a memory cgroup of 320 MiB (page cache included): the bounded oracle must finish there,
while a control child in the same limit that reads the series whole is OOM-killed (the limit is real).
"""

from __future__ import annotations

import sys

import pytest

from btbtest import CAN_LIMIT, run_limited
from btb.dataset.answer_store import ANSWERS, ensure_answers
from btb.dataset.format import Manifest, load_bindings

LIMIT = 320 * 2**20

pytestmark = pytest.mark.skipif(not CAN_LIMIT, reason="no writable cgroup memory controller: no limit to put "
                                "on the computing process here")


@pytest.fixture(scope="module")
def big(tmp_path_factory):
    from btb.dataset.generator import generate

    out = tmp_path_factory.mktemp("scale") / "small-6m-s3"
    generate("small-6m", 3, out)
    return out


def _limited(argv: list[str]):
    return run_limited(argv, LIMIT)


def test_answers_are_computed_under_a_limit_smaller_than_the_data(big):
    m = Manifest.read(big)
    assert m.bytes > 4 * LIMIT and m.counts["samples"] * 20 > 20 * LIMIT  # on disk and decoded
    control = _limited([sys.executable, "-c", f"import pyarrow.parquet as pq; pq.read_table({str(big / 'series')!r})"])
    assert control.returncode != 0, "reading the series whole fit in the limit: the limit proves nothing"
    got = _limited([sys.executable, "-c", "import sys; from btb.dataset.answer_store import ensure_answers; "
                    f"a = ensure_answers({str(big)!r}); print(a.source, len(a.rows))"])
    assert got.returncode == 0, got.stderr[-2000:]
    assert got.stdout.startswith("computed")
    stored = ensure_answers(big)  # what every later gate reads: the file the limited child wrote
    assert stored.source == "reused" and stored.path == big / ANSWERS
    bindings = load_bindings(big)
    assert len(stored.rows) == sum(len(b) for b in bindings.values())
    for qid, bs in bindings.items():
        for i, params in enumerate(bs):
            assert stored.get(qid, i, params), f"{qid} binding {i}: empty answer"
