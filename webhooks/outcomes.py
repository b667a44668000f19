"""What becomes of a delivery: accepted (one build per push), ignored, malformed or rejected,
put on the intake stream (webhooks/intake_stream.py), and the answer the Git host gets. The
database rows are written right after by the recorder (webhooks/recorder/), from the stream."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field

from redis.exceptions import RedisError

from bootstrap import Runtime
from config import RepositoryConfig
from ops import metrics
from states import DeliveryOutcome
from webhooks import intake_stream, rejections
from webhooks.events import PushEvent
from webhooks.intake_stream import IntakeUnavailable
from webhooks.rules import build_key

log = logging.getLogger(__name__)
UNAVAILABLE = ("the build queue (Redis) is not answering; nothing was recorded: redeliver this "
               "webhook later")


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


def record(runtime: Runtime, received: Received, outcome: DeliveryOutcome, status: int, reason: str,
           event: str | None = None, repository: str | None = None,
           ref: str | None = None) -> Outcome:
    """Admit a delivery that builds nothing (ignored, malformed or rejected)."""
    if outcome == DeliveryOutcome.REJECTED:
        return _reject(runtime, received, status, reason, repository)
    answer = {"ignored": reason} if outcome == DeliveryOutcome.IGNORED else {"error": reason}
    meta = _meta(received, received.dedupe_key, True, event=event, outcome=outcome,
                 status=status, reason=reason, repository=repository, ref=ref)
    fresh, stored = intake_stream.append(runtime.redis, meta, received.body,
                                         received.dedupe_key, [], f"{status}\n{json.dumps(answer)}")
    if not fresh:
        return stored_outcome(stored)
    metrics.deliveries.labels(received.provider, outcome).inc()
    return Outcome(status, answer)


def _reject(runtime: Runtime, received: Received, status: int, reason: str,
            repository: str | None) -> Outcome:
    """Count a delivery nobody signed, keeping its detail only within the day's allowance
    (anyone can send these: they must not fill the database)."""
    answer = {"error": reason}
    metrics.deliveries.labels(received.provider, DeliveryOutcome.REJECTED).inc()
    try:
        if rejections.count(runtime.redis, received.provider, status):
            detail = Received(received.provider, (received.delivery_id or "")[:200] or None,
                              rejections.detail_headers(received.headers))
            meta = _meta(detail, None, False, event=None, outcome=DeliveryOutcome.REJECTED,
                         status=status, reason=reason[:1000],
                         repository=(repository or "")[:rejections.REPOSITORY_CAP] or None,
                         ref=None)
            intake_stream.append(runtime.redis, meta, None, None, [], "")
    except (IntakeUnavailable, RedisError):
        log.warning("could not count a rejected %s delivery: Redis is not answering",
                    received.provider)
    return Outcome(status, answer)


def accept(runtime: Runtime, received: Received, event: str, plans: list[Plan]) -> Outcome:
    """Admit a delivery with one build per plan: a new build, or the build the same commit and
    settings already have (so one image gets every ref's tag)."""
    first, keys = plans[0].event, [_key(plan) for plan in plans]
    meta = _meta(received, received.dedupe_key, True, event=event, outcome=DeliveryOutcome.ACCEPTED,
                 status=202, reason=None, repository=plans[0].repo.name,
                 ref=first.ref or first.after,
                 plans=[_plan_record(plan, key) for plan, key in zip(plans, keys, strict=True)])
    try:
        fresh, summary = intake_stream.append(runtime.redis, meta, received.body,
                                              received.dedupe_key, keys, "202\n")
    except IntakeUnavailable:
        metrics.deliveries.labels(received.provider, "unavailable").inc()
        raise
    if not fresh:
        return stored_outcome(summary)
    metrics.deliveries.labels(received.provider, DeliveryOutcome.ACCEPTED).inc()
    return Outcome(202, builds_answer(summary))


def unavailable() -> Outcome:
    """The answer when Redis does not take a delivery."""
    return Outcome(503, {"error": UNAVAILABLE})


def stored_outcome(stored: str) -> Outcome:
    """The answer given the first time a delivery id was seen."""
    status, _, rest = stored.partition("\n")
    if rest.startswith("{"):
        return Outcome(int(status), json.loads(rest))
    return Outcome(int(status), builds_answer(rest))


def builds_answer(summary: str) -> dict:
    """The 202 body: each build once, `queued` if new, `joined` if the commit already had it."""
    builds: dict[str, bool] = {}
    for build_id, new in intake_stream.parse_builds(summary):
        builds.setdefault(build_id, new)
    return {"builds": [{"id": build_id, "status": "queued" if new else "joined",
                        "url": f"/api/v1/builds/{build_id}"} for build_id, new in builds.items()]}


def _meta(received: Received, dedupe_key: str | None, keep_body: bool, **fields) -> dict:
    return {"provider": received.provider, "delivery_id": received.delivery_id,
            "dedupe_key": dedupe_key, "headers": received.headers,
            "has_body": keep_body and received.body is not None,
            "replay_of": received.replay_of, **fields}


def _plan_record(plan: Plan, build_key: str) -> dict:
    event, repo = plan.event, plan.repo
    return {"repository": repo.name, "provider": repo.provider, "ref": event.ref,
            "after": event.after, "commit_message": event.commit_message,
            "commit_author": event.commit_author, "pusher": event.pusher,
            "pusher_accounts": [f"{event.pusher_host or repo.provider}:{account}"
                                for account in event.pusher_ids],
            "source_url": event.source_url, "clone_url": plan.clone_url,
            "dockerfile": repo.dockerfile, "context": repo.context, "build_key": build_key}


def _key(plan: Plan) -> str:
    repo = plan.repo
    return build_key(repo.name, plan.event.after, {
        "image": repo.image, "dockerfile": repo.dockerfile, "context": repo.context,
        "target": repo.target, "build_args": repo.build_args})
