"""Recording deliveries and queued builds, then handing builds to the workers."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from bootstrap import Runtime
from builder.dispatch import enqueue_build
from config import RepositoryConfig
from lineage.db import Database
from lineage.models import Build, Delivery, utcnow
from ops import metrics
from webhooks.events import PushEvent


@dataclass(frozen=True)
class Outcome:
    """What to answer the Git host: an HTTP status and a JSON body."""

    status: int
    body: dict


class QueueUnavailable(Exception):
    """Redis did not take the job; nothing was kept, so a redelivery will build."""


def dedupe_key(provider: str, delivery_id: str) -> str:
    """The unique key of an authentic delivery."""
    return f"{provider}:{delivery_id}"[:240]


def previous_outcome(db: Database, provider: str, delivery_id: str) -> Outcome | None:
    """The answer already given to this delivery id, if it was seen before."""
    with db.session() as session:
        delivery = session.scalar(
            select(Delivery).where(Delivery.dedupe_key == dedupe_key(provider, delivery_id))
        )
        return _outcome_of(delivery) if delivery else None


def record(db: Database, provider: str, delivery_id: str | None, outcome: str, status: int,
           reason: str, event: str | None = None, repository: str | None = None,
           ref: str | None = None) -> Outcome:
    """Store a delivery that builds nothing (ignored, malformed or rejected)."""
    authentic = outcome != "rejected" and delivery_id is not None
    row = Delivery(provider=provider, delivery_id=delivery_id, event=event, outcome=outcome,
                   dedupe_key=dedupe_key(provider, delivery_id) if authentic else None,
                   repository=repository, ref=ref, reason=reason, status_code=status)
    metrics.deliveries.labels(provider, outcome).inc()
    try:
        with db.session() as session:
            session.add(row)
    except IntegrityError:
        return previous_outcome(db, provider, delivery_id) or Outcome(status, _body(row))
    return Outcome(status, _body(row))


def accept_push(runtime: Runtime, delivery_id: str, event: PushEvent,
                repo: RepositoryConfig, clone_url: str) -> Outcome:
    """Write the delivery and its queued build in one transaction, then enqueue the build."""
    delivery = Delivery(provider=event.provider, delivery_id=delivery_id, event="push",
                        dedupe_key=dedupe_key(event.provider, delivery_id),
                        repository=event.repository, ref=event.ref, outcome="accepted",
                        reason=None, status_code=202)
    build = _new_build(event, repo, clone_url)
    delivery.builds.append(build)
    try:
        with runtime.db.session() as session:
            session.add(delivery)
    except IntegrityError:
        existing = previous_outcome(runtime.db, event.provider, delivery_id)
        if existing is None:
            raise
        return existing
    try:
        enqueue_build(runtime, build.id)
    except Exception as exc:
        _forget(runtime.db, delivery.id)
        metrics.deliveries.labels(event.provider, "unavailable").inc()
        raise QueueUnavailable(str(exc)) from exc
    metrics.deliveries.labels(event.provider, "accepted").inc()
    return Outcome(202, _body(delivery))


def _new_build(event: PushEvent, repo: RepositoryConfig, clone_url: str) -> Build:
    now = utcnow()
    return Build(
        repository=repo.name, provider=event.provider, ref=event.ref, commit_sha=event.after,
        commit_message=event.commit_message, commit_author=event.commit_author,
        pusher=event.pusher, source_url=event.source_url, clone_url=clone_url,
        dockerfile=repo.dockerfile, context=repo.context, status="queued",
        tags=[], history=[{"status": "queued", "at": now.isoformat() + "Z"}], created_at=now,
    )


def _forget(db: Database, delivery_pk: int) -> None:
    """Undo an accepted delivery whose job could not be queued, so a redelivery builds."""
    with db.session() as session:
        delivery = session.get(Delivery, delivery_pk)
        for build in delivery.builds:
            session.delete(build)
        session.delete(delivery)


def _outcome_of(delivery: Delivery) -> Outcome:
    return Outcome(delivery.status_code, _body(delivery))


def _body(delivery: Delivery) -> dict:
    if delivery.outcome == "accepted":
        return {"builds": [build_summary(b) for b in delivery.builds]}
    if delivery.outcome == "ignored":
        return {"ignored": delivery.reason}
    return {"error": delivery.reason}


def build_summary(build: Build) -> dict:
    """The short form of a build in webhook answers."""
    return {"id": build.id, "status": build.status, "url": f"/api/v1/builds/{build.id}"}
