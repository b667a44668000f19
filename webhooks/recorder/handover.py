"""New builds from recorded pushes, and handing them (and joined builds' new tags) to workers."""

from __future__ import annotations

import contextlib
import logging
from datetime import datetime
from typing import TYPE_CHECKING

from rq.job import Job

from bootstrap import Runtime
from builder.control import BuildConflict, cancel_build
from builder.dispatch import build_job_data, build_job_id, builds_queue
from builder.retag import enqueue_retag
from record.models import Build
from states import BuildStatus
from webhooks.supersede import running_to_cancel

if TYPE_CHECKING:
    from webhooks.recorder.write import Recorded

# A build in one of these states gives no image: the same commit pushed again builds afresh.
RELEASED = ("failed", "cancelled", "superseded", "rejected")
log = logging.getLogger(__name__)


def new_build(plan: dict, build_id: str, at: datetime) -> Build:
    """A queued build of one recorded push."""
    return Build(
        id=build_id, repository=plan["repository"], provider=plan["provider"], ref=plan["ref"],
        commit_sha=plan["after"], commit_message=plan["commit_message"],
        commit_author=plan["commit_author"], pusher=plan["pusher"],
        pusher_accounts=plan.get("pusher_accounts") or [],
        source_url=plan["source_url"], clone_url=plan["clone_url"],
        dockerfile=plan["dockerfile"], context=plan["context"], status=BuildStatus.QUEUED,
        dedupe_key=plan["build_key"], tags=[],
        history=[{"status": "queued", "at": at.isoformat() + "Z"}], created_at=at)


def hand_over(runtime: Runtime, recorded: list[Recorded]) -> None:
    """Queue the new builds (one pipeline), a retag for each joined build, and stop older
    running builds of the pushed refs where the repository asks for it. A job that could not
    be queued is queued again by reconcile: its build is in the database."""
    new = [build for r in recorded for build in r.new]
    new += [build for r in recorded for build in r.requeue
            if not Job.exists(build_job_id(build.id), connection=runtime.redis)]
    joined = list(dict.fromkeys(build_id for r in recorded for build_id in r.joined))
    try:
        by_queue: dict[str, list] = {}
        for build in new:
            by_queue.setdefault(builds_queue(runtime, build.repository), []).append(
                build_job_data(runtime, build.id, build.repository))
        for queue, jobs in by_queue.items():
            runtime.queue(queue).enqueue_many(jobs)
        for build_id in joined:
            enqueue_retag(runtime, build_id)
    except Exception:
        log.exception("could not queue %d new builds; reconcile will queue them", len(new))
    _cancel_superseded_running(runtime, new)


def _cancel_superseded_running(runtime: Runtime, new_builds: list[Build]) -> None:
    """Stop older running builds of the pushed refs, where the repository asks for it."""
    wanted = {repo.name for repo in runtime.settings.repositories if repo.supersede_running}
    builds = [b for b in new_builds if b.repository in wanted]
    if not builds:
        return
    with runtime.db.session() as session:
        older = {build_id: build.id for build in builds
                 for build_id in running_to_cancel(session, [session.get(Build, build.id)])}
    for build_id, newer in older.items():
        with contextlib.suppress(BuildConflict):  # it ended meanwhile: nothing to stop
            cancel_build(runtime, build_id, by=f"superseded by build {newer}")
