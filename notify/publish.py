"""Recording the notifications an event calls for and queueing their delivery."""

from __future__ import annotations

import logging
from datetime import timedelta

from rq.job import Job
from sqlalchemy import select

from bootstrap import NOTIFICATIONS_QUEUE, Runtime
from config import INTEGRITY_ALERT
from notify.messages import alert_body, message_body
from record.documents import build_document
from record.models import Build, utcnow
from record.notifications import Notification
from states import NotificationStatus

log = logging.getLogger(__name__)


def publish(runtime: Runtime, build_id: str, event: str) -> list[int]:
    """Record one notification per configured target that wants `event`, and queue each."""
    with runtime.db.session() as session:
        build = session.get(Build, build_id)
        repo = runtime.settings.repository_named(build.repository)
        targets = [t for t in (repo.notifications if repo else ()) if event in t.events]
        document = build_document(build)
        rows = [Notification(build_id=build_id, event=event, url=t.url, kind=t.format,
                             secret_env=t.secret_env, max_attempts=t.attempts,
                             backoff_seconds=t.backoff_seconds,
                             body=message_body(t.format, event, document))
                for t in targets]
        session.add_all(rows)
    return _queue(runtime, rows, f"notify {event} of build {build_id}")


def publish_alert(runtime: Runtime, registry_event_id: int, alert: dict) -> list[int]:
    """Record and queue an integrity alert for every target that wants `integrity.alert`:
    the targets of the repository that builds the image, or all of them for an unknown image."""
    repos = runtime.settings.repositories
    owners = [r for r in repos if r.image == alert.get("image")] or repos
    targets = {(t.url, t.format): t for r in owners for t in r.notifications
               if INTEGRITY_ALERT in t.events}
    with runtime.db.session() as session:
        rows = [Notification(registry_event_id=registry_event_id, event=INTEGRITY_ALERT, url=t.url,
                             kind=t.format, secret_env=t.secret_env,
                             max_attempts=t.attempts, backoff_seconds=t.backoff_seconds,
                             body=alert_body(t.format, alert))
                for t in targets.values()]
        session.add_all(rows)
    return _queue(runtime, rows, f"notify {INTEGRITY_ALERT} of registry event {alert['event_id']}")


def requeue_pending(runtime: Runtime, grace_seconds: int = 30) -> list[int]:
    """Queue again every pending notification whose job is gone (Redis lost it, or it could
    not be queued); the ids queued. Run by `lockmaster reconcile` and each worker."""
    born_before = utcnow() - timedelta(seconds=grace_seconds)
    with runtime.db.session() as session:
        rows = list(session.scalars(select(Notification).where(
            Notification.status == NotificationStatus.PENDING,
            Notification.created_at < born_before)))
    lost = [row for row in rows
            if not Job.exists(_job_id(row.id), connection=runtime.redis)]
    return _queue(runtime, lost, "notify again (its job was lost)") if lost else []


def _job_id(notification_id: int) -> str:
    return f"notification-{notification_id}"


def _queue(runtime: Runtime, rows: list[Notification], description: str) -> list[int]:
    for row in rows:
        try:
            runtime.queue(NOTIFICATIONS_QUEUE).enqueue_call(
                "notify.jobs.deliver", args=(row.id,), job_id=_job_id(row.id),
                timeout=600, description=description)
        except Exception as exc:  # the row stays pending; `lockmaster reconcile` re-queues it
            log.warning("could not queue notification %s: %s", row.id, exc)
    return [row.id for row in rows]
