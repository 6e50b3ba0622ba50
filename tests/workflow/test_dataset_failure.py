"""A dataset that cannot be generated ends its trials with a visible error, instead of leaving them
queued forever behind a failed chain."""

from __future__ import annotations

import uuid

import pytest

from btb.results.store import Ledger
from btb.workflow.tasks import dataset_task

pytestmark = pytest.mark.integration


def test_failed_dataset_marks_its_queued_trials_as_error(redis_server):
    ledger = Ledger(redis_server.redis_url)
    cid = f"dsfail-{uuid.uuid4().hex[:6]}"
    ledger.create_campaign(cid, {"name": "dsfail"}, [
        {"id": f"{cid}.t000", "dataset": "tiny-1d-s-1", "scenario": "P1"},
        {"id": f"{cid}.t001", "dataset": "tiny-1d-s3", "scenario": "P1"}], {})
    with pytest.raises(ValueError):
        dataset_task.run(cid, "tiny-1d", -1)  # the task body, in-process: the generator refuses seed -1
    trials = ledger.trials(cid)
    assert trials[f"{cid}.t000"]["status"] == "error"
    assert "tiny-1d seed -1" in trials[f"{cid}.t000"]["message"]
    assert trials[f"{cid}.t001"]["status"] == "queued"  # another dataset's trial is untouched
