"""Handing builds to RQ workers: one job per build id, on the `builds` queue."""

from __future__ import annotations

from rq import Queue
from rq.queue import EnqueueData

from bootstrap import Runtime, pool_queue
from config.isolation import DEFAULT_TIMEOUT_SECONDS
from record.models import Build

# The job's RQ timeout only backs up the build's own timeout, which stops it on the engine;
# a job may first wait up to one build timeout for the running build of its ref.
JOB_TIMEOUT_MARGIN_SECONDS = 300


def build_job_id(build_id: str) -> str:
    """The RQ job id of a build (stable, so a build never has two live jobs)."""
    return f"build-{build_id}"


def builds_queue(runtime: Runtime, repository: str | None) -> str:
    """The queue of a repository's builds: its pool's, or the shared one."""
    repo = runtime.settings.repository_named(repository) if repository else None
    return pool_queue(repo.pool if repo else None)


def enqueue_build(runtime: Runtime, build_id: str) -> None:
    """Queue the build job; raises if Redis does not answer."""
    with runtime.db.session() as session:
        build = session.get(Build, build_id)
        repository = build.repository if build else None
    runtime.queue(builds_queue(runtime, repository)).enqueue_many(
        [build_job_data(runtime, build_id, repository)])


def build_job_data(runtime: Runtime, build_id: str, repository: str | None) -> EnqueueData:
    """The job of one build, for Queue.enqueue_many (several builds in one round trip)."""
    repo = runtime.settings.repository_named(repository) if repository else None
    timeout = repo.timeout if repo else DEFAULT_TIMEOUT_SECONDS
    return Queue.prepare_data(
        "builder.jobs.run_build",
        args=(build_id,),
        job_id=build_job_id(build_id),
        timeout=2 * timeout + JOB_TIMEOUT_MARGIN_SECONDS,
        result_ttl=3600,
        failure_ttl=7 * 24 * 3600,
        description=f"build {build_id}",
    )
