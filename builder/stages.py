"""Stage times of a build: which stage each status begins (plain domain code)."""

from __future__ import annotations

from states import BuildStatus

STAGE_OF = {BuildStatus.CLONING: "clone", BuildStatus.BUILDING: "build",
            BuildStatus.CHECKING: "checks", BuildStatus.PUSHING: "push"}


def record_stage(stages: dict, status: BuildStatus, at: str) -> dict:
    """Stages after the build moves to `status` at `at`: the running stage finishes, the
    stage that `status` begins starts (a restarted build starts its stages afresh)."""
    if status == BuildStatus.CLONING:
        stages = {}
    stages = {name: dict(times) for name, times in stages.items()}
    for times in stages.values():
        times.setdefault("finished_at", at)
    if status in STAGE_OF:
        stages[STAGE_OF[status]] = {"started_at": at}
    return stages
