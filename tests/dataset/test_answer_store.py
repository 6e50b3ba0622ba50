"""answers.json: computed once per dataset, kept beside it with its fingerprint, reused, never mistaken."""

from __future__ import annotations

import json
import shutil

import pytest

from btb.dataset import oracle
from btb.dataset.answer_store import ANSWERS, ORACLE_REVISION, ensure_answers
from btb.dataset.format import Manifest, load_bindings


@pytest.fixture
def ds(tiny2d, tmp_path):
    d = tmp_path / "ds"
    shutil.copytree(tiny2d, d)
    return d


def test_computed_once_then_reused_with_the_same_answers(ds):
    first = ensure_answers(ds)
    assert first.source == "computed" and first.path == ds / ANSWERS and first.seconds > 0
    doc = json.loads((ds / ANSWERS).read_text())
    assert doc["fingerprint"] == Manifest.read(ds).fingerprint and doc["oracle_revision"] == ORACLE_REVISION
    mtime = (ds / ANSWERS).stat().st_mtime_ns
    again = ensure_answers(ds)
    assert again.source == "reused" and (ds / ANSWERS).stat().st_mtime_ns == mtime
    for qid, bs in load_bindings(ds).items():
        for i, params in enumerate(bs):
            assert again.get(qid, i, params) == first.get(qid, i, params) == oracle.answer(ds, qid, params)


def test_a_file_for_another_dataset_or_a_damaged_one_is_recomputed(ds):
    ensure_answers(ds)
    doc = json.loads((ds / ANSWERS).read_text())
    (ds / ANSWERS).write_text(json.dumps(dict(doc, fingerprint="0" * 64)))
    assert ensure_answers(ds).source == "computed"
    doc = json.loads((ds / ANSWERS).read_text())
    doc["answers"]["Q6/0"]["rows"][0][1] += 1.0  # a changed answer no longer matches the file's digest
    (ds / ANSWERS).write_text(json.dumps(doc))
    got = ensure_answers(ds)
    assert got.source == "computed"
    assert got.get("Q6", 0, load_bindings(ds)["Q6"][0]) == oracle.answer(ds, "Q6", load_bindings(ds)["Q6"][0])


def test_an_answer_for_other_parameters_is_refused(ds):
    got = ensure_answers(ds)
    p = dict(load_bindings(ds)["Q6"][0], point="point:none")
    with pytest.raises(KeyError, match="Q6/0: no stored oracle answer for these parameters"):
        got.get("Q6", 0, p)


def test_answers_that_cannot_be_stored_are_kept_in_memory(ds):
    """An unwritable place (here: a directory in the file's way, which root cannot write over either)."""
    (ds / ANSWERS).mkdir()
    (ds / ANSWERS / "x").write_text("")
    got = ensure_answers(ds)
    assert got.source.startswith("computed, not stored: ") and got.path is None
    assert got.get("Q5", 0, {}) == oracle.answer(ds, "Q5", {})
