"""Handing builds to RQ workers: one job per build id, on the `builds` queue."""

from __future__ import annotations

from bootstrap import BUILDS_QUEUE, Runtime

JOB_TIMEOUT_SECONDS = 1800 + 300


def build_job_id(build_id: str) -> str:
    """The RQ job id of a build (stable, so a build never has two live jobs)."""
    return f"build-{build_id}"


def enqueue_build(runtime: Runtime, build_id: str) -> None:
    """Queue the build job; raises if Redis does not answer."""
    runtime.queue(BUILDS_QUEUE).enqueue_call(
        "builder.jobs.run_build",
        args=(build_id,),
        job_id=build_job_id(build_id),
        timeout=JOB_TIMEOUT_SECONDS,
        result_ttl=3600,
        failure_ttl=7 * 24 * 3600,
        description=f"build {build_id}",
    )
