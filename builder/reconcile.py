"""Reconcile: the database is the truth; builds whose job or worker is gone are settled."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from rq.exceptions import NoSuchJobError
from rq.job import Job, JobStatus
from sqlalchemy import select

from bootstrap import Runtime
from builder.buildkeys import forget_build
from builder.dispatch import build_job_id, enqueue_build
from builder.image import remove_container
from builder.stages import STAGE_OF, record_stage
from builder.watchdog import containers_key, heartbeat_key, release_ref_lock
from record.models import Build, utcnow
from states import RUNNING_STATUSES, BuildStatus

MAX_ATTEMPTS = 2
WORKER_LOST = "worker lost"
REQUEUED = "re-queued (its worker was gone)"
_WAITING = {JobStatus.QUEUED, JobStatus.SCHEDULED, JobStatus.DEFERRED}
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Settled:
    """What reconcile did to one build."""

    build_id: str
    before: str
    action: str


def reconcile(runtime: Runtime, grace_seconds: int = 30) -> list[Settled]:
    """Re-queue or fail every build that is queued or running but that nobody works on."""
    pending = [s.value for s in (BuildStatus.QUEUED, *RUNNING_STATUSES)]
    born_before = utcnow() - timedelta(seconds=grace_seconds)
    with runtime.db.session() as session:
        builds = list(session.scalars(select(Build).where(Build.status.in_(pending))))
    settled = []
    for build in builds:
        if build.status == BuildStatus.QUEUED and build.created_at > born_before:
            continue  # the webhook may be between its commit and its enqueue
        if _alive(runtime, build.id):
            continue
        settled.append(Settled(build.id, build.status, _settle(runtime, build)))
    return settled


def _alive(runtime: Runtime, build_id: str) -> bool:
    """A worker's heartbeat, or a job that still waits in the queue."""
    if runtime.redis.exists(heartbeat_key(build_id)):
        return True
    try:
        job = Job.fetch(build_job_id(build_id), connection=runtime.redis)
    except NoSuchJobError:
        return False
    return job.get_status(refresh=False) in _WAITING


def _settle(runtime: Runtime, build: Build) -> str:
    if build.status == BuildStatus.QUEUED:
        enqueue_build(runtime, build.id)
        return "re-queued (its job had vanished)"
    remove_build_containers(runtime, build.id)
    release_build(runtime, build.id)
    if build.cancel_requested_at is not None:
        end_build(runtime, build.id, BuildStatus.CANCELLED, "cancelled")
        return "cancelled (its worker was gone)"
    if build.status == BuildStatus.PUSHING or build.attempts >= MAX_ATTEMPTS:
        end_build(runtime, build.id, BuildStatus.FAILED, WORKER_LOST)
        return f"failed: {WORKER_LOST}"
    note_requeued(runtime, build.id, REQUEUED)
    enqueue_build(runtime, build.id)
    return REQUEUED


def remove_build_containers(runtime: Runtime, build_id: str) -> None:
    """Force-remove the containers the engine started for a build whose worker is gone."""
    key = containers_key(build_id)
    ids = [raw.decode() for raw in runtime.redis.smembers(key)]
    if ids:
        client = runtime.docker()
        for container_id in ids:
            remove_container(client, container_id)
    runtime.redis.delete(key)


def release_build(runtime: Runtime, build_id: str) -> None:
    """Free what a lost worker held for the build: its ref lock and its heartbeat."""
    with runtime.db.session() as session:
        build = session.get(Build, build_id)
        repository, ref = build.repository, build.ref
    release_ref_lock(runtime.redis, repository, ref, build_id)
    runtime.redis.delete(heartbeat_key(build_id))


def end_build(runtime: Runtime, build_id: str, status: BuildStatus, reason: str) -> None:
    """Record a running build as ended by someone other than its worker."""
    now = utcnow()
    with runtime.db.session() as session:
        build = session.get(Build, build_id, with_for_update=True)
        if BuildStatus(build.status).is_final:
            return
        stage = STAGE_OF.get(BuildStatus(build.status), build.status)
        build.stages = record_stage(build.stages or {}, status, now.isoformat() + "Z")
        build.history = [*build.history, {"status": status.value, "at": now.isoformat() + "Z",
                                          "reason": reason}]
        build.status, build.error, build.failed_stage = status.value, reason, stage
        build.finished_at = now
        build_key = build.dedupe_key
    if status != BuildStatus.STAGED:
        forget_build(runtime.redis, build_key, build_id)
    log.warning("build %s: %s", build_id, reason)


def note_requeued(runtime: Runtime, build_id: str, reason: str) -> None:
    """Say in the build's history that it was handed to the queue again (its status stays
    until a worker restarts it from clone)."""
    with runtime.db.session() as session:
        build = session.get(Build, build_id, with_for_update=True)
        build.history = [*build.history, {"status": build.status, "reason": reason,
                                          "at": utcnow().isoformat() + "Z"}]
