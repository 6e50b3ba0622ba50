"""Trial statuses and the transitions allowed between them: the one place that says what a trial can be.

A trial always ends visibly: every path out of a step leads to one of FINAL (with a message), to
`queued` again (its lease lapsed or its node was drained: it is re-run, once), never to silence.
"""

from __future__ import annotations

from enum import Enum


class TrialStatus(str, Enum):
    QUEUED = "queued"  # waiting in its engine set's pending queue, in plan order
    CLAIMED = "claimed"  # a node holds its lease
    PREPARING = "preparing"  # dataset generated / verified on the node
    PROVISIONING = "provisioning"  # engines starting under the budget
    INGESTING = "ingesting"
    VALIDATING = "validating"  # answers checked against the oracle
    MEASURING = "measuring"
    FINISHING = "finishing"  # engines stopping, trial being reduced
    COMPLETED = "completed"
    COMPLETED_WITH_ERRORS = "completed-with-errors"  # some runs timed out or failed, none OOM
    OOM = "oom"
    INVALID = "invalid"  # an answer differed from the oracle (only a real mismatch)
    ERROR = "error"
    SKIPPED = "skipped"  # plateau stop
    CANCELLED = "cancelled"

    def __str__(self) -> str:
        return self.value


S = TrialStatus
FINAL = frozenset({S.COMPLETED, S.COMPLETED_WITH_ERRORS, S.OOM, S.INVALID, S.ERROR, S.SKIPPED, S.CANCELLED})
FINAL_VALUES = frozenset(s.value for s in FINAL)
ACTIVE = (S.CLAIMED, S.PREPARING, S.PROVISIONING, S.INGESTING, S.VALIDATING, S.MEASURING, S.FINISHING)

ALLOWED: dict[TrialStatus, frozenset[TrialStatus]] = {
    S.QUEUED: frozenset({S.CLAIMED, S.CANCELLED, S.ERROR}),
    S.CLAIMED: frozenset({S.PREPARING, S.FINISHING, *FINAL, S.QUEUED}),
    S.PREPARING: frozenset({S.PROVISIONING, S.FINISHING, *FINAL, S.QUEUED}),
    S.PROVISIONING: frozenset({S.INGESTING, S.MEASURING, S.FINISHING, *FINAL, S.QUEUED}),
    # load once: ingest (+ gate) happen in the first trial of a (dataset, scenario) on a node, then every
    # trial provisions its engines again from the kept data under its own budget
    S.INGESTING: frozenset({S.VALIDATING, S.PROVISIONING, S.MEASURING, S.FINISHING, *FINAL, S.QUEUED}),
    S.VALIDATING: frozenset({S.PROVISIONING, S.MEASURING, S.FINISHING, *FINAL, S.QUEUED}),
    S.MEASURING: frozenset({S.FINISHING, *FINAL, S.QUEUED}),
    S.FINISHING: frozenset(FINAL | {S.QUEUED}),
    **{f: frozenset() for f in FINAL},
}


class BadTransition(RuntimeError):
    pass


def check(old: str | None, new: str) -> TrialStatus:
    """The new status if the move is allowed; raises otherwise (a bug, never a user error)."""
    n = TrialStatus(new)
    if old is None:
        return n
    o = TrialStatus(old)
    if n != o and n not in ALLOWED[o]:
        raise BadTransition(f"trial cannot go from {o.value} to {n.value}")
    return n


def is_final(status: str | None) -> bool:
    return status in FINAL_VALUES
