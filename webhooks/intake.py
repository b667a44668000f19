"""Recording deliveries and their builds (new or joined), then handing new builds to workers."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from bootstrap import Runtime
from builder.control import BuildConflict, cancel_build
from builder.dispatch import enqueue_build
from builder.retag import enqueue_retag
from config import RepositoryConfig
from lineage.db import Database
from lineage.models import Build, Delivery, utcnow
from lineage.triggers import BuildTrigger
from ops import metrics
from webhooks.events import PushEvent
from webhooks.rules import build_key
from webhooks.supersede import restore, running_to_cancel, supersede_older

# A build in one of these states gives no image: the same commit pushed again builds afresh.
_RELEASED = ("failed", "cancelled", "superseded", "rejected")
_WRITE_ATTEMPTS = 5


@dataclass(frozen=True)
class Outcome:
    """What to answer the Git host: an HTTP status and a JSON body."""

    status: int
    body: dict


@dataclass(frozen=True)
class Received:
    """One delivery as it arrived: who sent it, its id, the headers that matter, the raw body."""

    provider: str
    delivery_id: str | None
    headers: dict = field(default_factory=dict)
    body: bytes | None = None
    replay_of: int | None = None

    @property
    def dedupe_key(self) -> str | None:
        """The unique key of the delivery; replays and deliveries without an id have none."""
        if self.delivery_id is None or self.replay_of is not None:
            return None
        return f"{self.provider}:{self.delivery_id}"[:240]


@dataclass(frozen=True)
class Plan:
    """One push that builds: the event, its repository's settings and the URL to clone."""

    event: PushEvent
    repo: RepositoryConfig
    clone_url: str


class QueueUnavailable(Exception):
    """Redis did not take the job; nothing was kept, so a redelivery will build."""


def previous_outcome(db: Database, received: Received) -> Outcome | None:
    """The answer already given to this delivery id, if it was seen before."""
    if received.dedupe_key is None:
        return None
    with db.session() as session:
        delivery = session.scalar(
            select(Delivery).where(Delivery.dedupe_key == received.dedupe_key))
        return Outcome(delivery.status_code, _body(delivery)) if delivery else None


def record(db: Database, received: Received, outcome: str, status: int, reason: str,
           event: str | None = None, repository: str | None = None,
           ref: str | None = None) -> Outcome:
    """Store a delivery that builds nothing (ignored, malformed or rejected)."""
    authentic = outcome != "rejected"
    row = Delivery(provider=received.provider, delivery_id=received.delivery_id, event=event,
                   outcome=outcome, dedupe_key=received.dedupe_key if authentic else None,
                   repository=repository, ref=ref, reason=reason, status_code=status,
                   headers=received.headers, body=received.body if authentic else None,
                   replay_of=received.replay_of)
    metrics.deliveries.labels(received.provider, outcome).inc()
    try:
        with db.session() as session:
            session.add(row)
    except IntegrityError:
        return previous_outcome(db, received) or Outcome(status, _body(row))
    return Outcome(status, _body(row))


def accept(runtime: Runtime, received: Received, event: str, plans: list[Plan]) -> Outcome:
    """Record the delivery with a build per plan (joining a build of the same commit and
    settings if there is one) and supersede older queued builds of the same refs, all in one
    transaction; then enqueue the new builds."""
    for _attempt in range(_WRITE_ATTEMPTS):
        try:
            delivery, new_builds, superseded = _write(runtime.db, received, event, plans)
            break
        except IntegrityError:
            # Either this delivery id was recorded meanwhile, or another request created the
            # build of this commit first: answer as before, or join that build on the next try.
            previous = previous_outcome(runtime.db, received)
            if previous is not None:
                return previous
    else:
        raise RuntimeError("could not record the delivery after several concurrent conflicts")
    try:
        for build in new_builds:
            enqueue_build(runtime, build.id)
        for build_id in _joined(delivery, new_builds):
            enqueue_retag(runtime, build_id)
    except Exception as exc:
        _forget(runtime.db, delivery.id, superseded)
        metrics.deliveries.labels(received.provider, "unavailable").inc()
        raise QueueUnavailable(str(exc)) from exc
    metrics.deliveries.labels(received.provider, "accepted").inc()
    _cancel_superseded_running(runtime, plans, new_builds)
    return Outcome(202, _body(delivery))


def _cancel_superseded_running(runtime: Runtime, plans: list[Plan],
                               new_builds: list[Build]) -> None:
    """Stop older running builds of the pushed refs, where the repository asks for it."""
    wanted = {plan.repo.name for plan in plans if plan.repo.supersede_running}
    builds = [b for b in new_builds if b.repository in wanted]
    if not builds:
        return
    with runtime.db.session() as session:
        older = running_to_cancel(session, [session.get(Build, b.id) for b in builds])
    for build_id in older:
        newer = builds[-1].id
        with contextlib.suppress(BuildConflict):  # it ended meanwhile: nothing to stop
            cancel_build(runtime, build_id, by=f"superseded by build {newer}")


def _joined(delivery: Delivery, new_builds: list[Build]) -> list[str]:
    """Builds this delivery joined: each may push (or have pushed) before it saw the new ref,
    so a retag runs after its job (and adds nothing if the push already had the tag)."""
    new = {b.id for b in new_builds}
    joined = {t.build.id: t.build for t in delivery.triggers if t.build.id not in new}
    return [b.id for b in joined.values() if b.status not in _RELEASED]


def _write(db: Database, received: Received, event: str,
           plans: list[Plan]) -> tuple[Delivery, list[Build], list[str]]:
    first = plans[0].event
    delivery = Delivery(provider=received.provider, delivery_id=received.delivery_id,
                        event=event, dedupe_key=received.dedupe_key,
                        repository=plans[0].repo.name, ref=first.ref or first.after,
                        outcome="accepted", reason=None, status_code=202,
                        headers=received.headers, body=received.body,
                        replay_of=received.replay_of)
    new_builds = []
    with db.session() as session:
        session.add(delivery)
        for plan in plans:
            build = _existing_build(session, _key(plan))
            if build is None:
                build = _new_build(plan)
                build.delivery = delivery
                session.add(build)
                new_builds.append(build)
            session.add(BuildTrigger(build=build, delivery=delivery,
                                     repository=plan.repo.name, ref=plan.event.ref))
        session.flush()
        superseded = supersede_older(session, new_builds)
        _body(delivery)  # load what the answer shows while the session is open
    return delivery, new_builds, superseded


def _existing_build(session, key: str) -> Build | None:
    build = session.scalar(select(Build).where(Build.dedupe_key == key))
    if build is not None and build.status in _RELEASED:
        build.dedupe_key = None
        session.flush()
        return None
    return build


def _key(plan: Plan) -> str:
    repo = plan.repo
    return build_key(repo.name, plan.event.after, {
        "image": repo.image, "dockerfile": repo.dockerfile, "context": repo.context,
        "target": repo.target, "build_args": repo.build_args})


def _new_build(plan: Plan) -> Build:
    event, repo, now = plan.event, plan.repo, utcnow()
    return Build(
        repository=repo.name, provider=repo.provider, ref=event.ref, commit_sha=event.after,
        commit_message=event.commit_message, commit_author=event.commit_author,
        pusher=event.pusher, source_url=event.source_url, clone_url=plan.clone_url,
        dockerfile=repo.dockerfile, context=repo.context, status="queued",
        dedupe_key=_key(plan), tags=[],
        history=[{"status": "queued", "at": now.isoformat() + "Z"}], created_at=now,
    )


def _forget(db: Database, delivery_pk: int, superseded: list[str]) -> None:
    """Undo an accepted delivery whose job could not be queued, so a redelivery builds."""
    with db.session() as session:
        restore(session, superseded)
        delivery = session.get(Delivery, delivery_pk)
        created = list(delivery.builds)
        triggers = {t.id: t for t in delivery.triggers}
        triggers.update((t.id, t) for build in created for t in build.triggers)
        for trigger in triggers.values():
            session.delete(trigger)
        session.flush()
        for build in created:
            session.delete(build)
        session.delete(delivery)


def _body(delivery: Delivery) -> dict:
    if delivery.outcome == "accepted":
        builds = {t.build.id: t.build for t in delivery.triggers}
        return {"builds": [build_summary(b) for b in builds.values()]}
    if delivery.outcome == "ignored":
        return {"ignored": delivery.reason}
    return {"error": delivery.reason}


def build_summary(build: Build) -> dict:
    """The short form of a build in webhook answers."""
    return {"id": build.id, "status": build.status, "url": f"/api/v1/builds/{build.id}"}
