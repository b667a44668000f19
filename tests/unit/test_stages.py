"""Stage times: each status begins a stage and finishes the one before."""

from builder.stages import record_stage
from states import BuildStatus as S


def test_each_stage_starts_when_the_previous_one_finishes():
    stages = {}
    for at, status in enumerate([S.CLONING, S.BUILDING, S.CHECKING, S.PUSHING, S.STAGED]):
        stages = record_stage(stages, status, f"t{at}")
    assert stages == {"clone": {"started_at": "t0", "finished_at": "t1"},
                      "build": {"started_at": "t1", "finished_at": "t2"},
                      "checks": {"started_at": "t2", "finished_at": "t3"},
                      "push": {"started_at": "t3", "finished_at": "t4"}}


def test_a_failure_finishes_the_running_stage_and_a_restart_starts_afresh():
    stages = record_stage(record_stage({}, S.CLONING, "t0"), S.FAILED, "t1")
    assert stages == {"clone": {"started_at": "t0", "finished_at": "t1"}}
    assert record_stage(stages, S.CLONING, "t2") == {"clone": {"started_at": "t2"}}
