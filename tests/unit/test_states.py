"""The build state machine (builder/states.py)."""

import itertools

import pytest

from builder.states import InvalidTransition, check_transition
from states import BuildStatus as S

PIPELINE = [S.QUEUED, S.CLONING, S.BUILDING, S.CHECKING, S.PUSHING, S.STAGED]


@pytest.mark.parametrize(("current", "new"), list(itertools.pairwise(PIPELINE)))
def test_the_pipeline_moves_forward_one_stage_at_a_time(current, new):
    check_transition(current, new)


@pytest.mark.parametrize("current", PIPELINE[:-1])
def test_any_unfinished_stage_can_fail_or_be_cancelled(current):
    check_transition(current, S.FAILED)
    check_transition(current, S.CANCELLED)


def test_only_checking_can_be_rejected_and_only_queued_superseded():
    check_transition(S.CHECKING, S.REJECTED)
    check_transition(S.QUEUED, S.SUPERSEDED)
    with pytest.raises(InvalidTransition):
        check_transition(S.BUILDING, S.REJECTED)
    with pytest.raises(InvalidTransition):
        check_transition(S.BUILDING, S.SUPERSEDED)


@pytest.mark.parametrize("final", [S.STAGED, S.FAILED, S.REJECTED, S.SUPERSEDED, S.CANCELLED])
@pytest.mark.parametrize("new", list(S))
def test_nothing_follows_a_final_status(final, new):
    assert final.is_final
    with pytest.raises(InvalidTransition):
        check_transition(final, new)


@pytest.mark.parametrize(("current", "new"), [(S.QUEUED, S.BUILDING), (S.CLONING, S.STAGED),
                                              (S.QUEUED, S.STAGED), (S.BUILDING, S.QUEUED)])
def test_stages_cannot_be_skipped_or_reversed(current, new):
    with pytest.raises(InvalidTransition, match=f"{current.value} build cannot become"):
        check_transition(current, new)


def test_a_retried_job_may_restart_a_running_build_from_clone():
    check_transition(S.PUSHING, S.CLONING)
    assert S.PUSHING.is_running and not S.QUEUED.is_running
