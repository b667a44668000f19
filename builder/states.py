"""The build state machine: which status may follow which (plain domain code)."""

from __future__ import annotations

import itertools

from states import RUNNING_STATUSES, BuildStatus

_PIPELINE = [BuildStatus.QUEUED, BuildStatus.CLONING, BuildStatus.BUILDING,
             BuildStatus.CHECKING, BuildStatus.PUSHING, BuildStatus.STAGED]

_ALLOWED: dict[BuildStatus, set[BuildStatus]] = {
    status: {nxt, BuildStatus.FAILED, BuildStatus.CANCELLED}
    for status, nxt in itertools.pairwise(_PIPELINE)
}
_ALLOWED[BuildStatus.QUEUED] |= {BuildStatus.SUPERSEDED}
_ALLOWED[BuildStatus.CHECKING] |= {BuildStatus.REJECTED}
# A worker that died mid-build leaves a running status; a retry of the job starts over.
for _running in RUNNING_STATUSES:
    _ALLOWED[_running] |= {BuildStatus.CLONING}


class InvalidTransition(Exception):
    """A status change that the build's life does not allow."""


def check_transition(current: BuildStatus, new: BuildStatus) -> None:
    """Raise InvalidTransition unless a build in `current` may move to `new`."""
    if new not in _ALLOWED.get(current, set()):
        raise InvalidTransition(f"a {current.value} build cannot become {new.value}")
