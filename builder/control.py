"""Cancel and retry: what the API and the CLI do to a build."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

from rq.exceptions import InvalidJobOperation, NoSuchJobError
from rq.job import Job

from bootstrap import Runtime
from builder.buildkeys import forget_build
from builder.dispatch import build_job_id, enqueue_build
from record.models import Build, utcnow
from states import BuildStatus


class BuildNotFound(Exception):
    """No build has this id."""


class BuildConflict(Exception):
    """The build is not in a state that allows the action; the message says why."""


@dataclass(frozen=True)
class CancelOutcome:
    """The build's status after a cancel: `cancelled`, or still running while it stops."""

    build_id: str
    status: str
    cancelled_by: str


def cancel_build(runtime: Runtime, build_id: str, by: str) -> CancelOutcome:
    """Cancel a queued build now, or ask the worker running it to stop it on the engine."""
    now = utcnow()
    with runtime.db.session() as session:
        build = session.get(Build, build_id, with_for_update=True)
        if build is None:
            raise BuildNotFound(f"no build with id '{build_id}'")
        status = BuildStatus(build.status)
        if status.is_final:
            raise BuildConflict(f"build {build_id} already ended ({build.status}); "
                                "nothing to cancel")
        build.cancel_requested_at = build.cancel_requested_at or now
        build.cancelled_by = build.cancelled_by or by
        if status == BuildStatus.QUEUED:
            build.status = BuildStatus.CANCELLED.value
            build.error, build.finished_at = "cancelled", now
            build.history = [*build.history, {"status": "cancelled", "at": now.isoformat() + "Z",
                                              "by": build.cancelled_by}]
        outcome = CancelOutcome(build_id, build.status, build.cancelled_by)
        build_key = build.dedupe_key
    if outcome.status == BuildStatus.CANCELLED:
        _cancel_job(runtime, build_id)
        forget_build(runtime.redis, build_key, build_id)
    return outcome


def _cancel_job(runtime: Runtime, build_id: str) -> None:
    """Take a cancelled build's job off the queue (a job that runs anyway skips the build)."""
    with contextlib.suppress(NoSuchJobError, InvalidJobOperation):
        Job.fetch(build_job_id(build_id), connection=runtime.redis).cancel()


def retry_build(runtime: Runtime, build_id: str, by: str) -> str:
    """Queue a new build of the same commit, linked to the ended one; returns its id."""
    with runtime.db.session() as session:
        old = session.get(Build, build_id)
        if old is None:
            raise BuildNotFound(f"no build with id '{build_id}'")
        if not BuildStatus(old.status).is_final:
            raise BuildConflict(f"build {build_id} is still {old.status}: cancel it or wait "
                                "for it to end before retrying")
        now = utcnow()
        new = Build(
            repository=old.repository, provider=old.provider, ref=old.ref,
            commit_sha=old.commit_sha, commit_message=old.commit_message,
            commit_author=old.commit_author, pusher=old.pusher,
            pusher_accounts=list(old.pusher_accounts or []), source_url=old.source_url,
            clone_url=old.clone_url, dockerfile=old.dockerfile, context=old.context,
            status=BuildStatus.QUEUED, tags=[], retry_of=old.id, created_at=now,
            history=[{"status": BuildStatus.QUEUED, "at": now.isoformat() + "Z", "retry_of": old.id,
                      "by": by}],
        )
        session.add(new)
        session.flush()
        new_id = new.id
    enqueue_build(runtime, new_id)
    return new_id
