"""Deliveries no configured secret signed: anyone can send them, so they are counted per
(provider, reason, minute) in Redis — fixed memory, whatever the flood — and kept in detail
(a few allow-listed headers, each capped, never the body) for at most DETAIL_PER_DAY a day.
The recorder moves the counts to the database."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime

from redis import Redis
from sqlalchemy import select

from record.db import Database
from record.models import RejectedDeliveries, utcnow

DETAIL_PER_DAY = 1000
HEADER_CAP = 200
REPOSITORY_CAP = 255
# Enough to tell who sent it and what it claimed to be; no signature or token header.
DETAIL_HEADERS = ("content-type", "user-agent", "x-github-event", "x-github-delivery",
                  "x-gitlab-event", "x-gitlab-event-uuid", "idempotency-key", "x-gitea-event",
                  "x-gitea-delivery", "x-event-key", "x-request-uuid", "x-hook-uuid")
_MINUTES = "lockmaster:rejected:minutes"
_COUNTS = "lockmaster:rejected:"
_DETAILS = "lockmaster:rejected-details:"
_KEEP_SECONDS = 7 * 24 * 3600
log = logging.getLogger(__name__)


def reason_code(status: int) -> str:
    """The reason counted (a fixed word: the text names a repository the sender chose)."""
    return "unknown-repository" if status == 404 else "bad-signature"


def count(redis: Redis, provider: str, status: int, now: datetime | None = None) -> bool:
    """Count one rejected delivery; True if today's allowance of details is not used up."""
    now = now or utcnow()
    minute, day = now.strftime("%Y-%m-%dT%H:%M"), now.strftime("%Y-%m-%d")
    pipe = redis.pipeline(transaction=False)
    pipe.hincrby(_COUNTS + minute, f"{provider}:{reason_code(status)}", 1)
    pipe.expire(_COUNTS + minute, _KEEP_SECONDS)
    pipe.sadd(_MINUTES, minute)
    pipe.incr(_DETAILS + day)
    pipe.expire(_DETAILS + day, 2 * 24 * 3600)
    return pipe.execute()[3] <= DETAIL_PER_DAY


def detail_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """The allow-listed headers of a rejected delivery, each cut to HEADER_CAP characters."""
    return {k: v[:HEADER_CAP] for k, v in headers.items() if k.lower() in DETAIL_HEADERS}


def flush(redis: Redis, db: Database) -> int:
    """Add the counts gathered in Redis to the database; how many deliveries they counted."""
    total = 0
    for raw in sorted(redis.smembers(_MINUTES)):
        minute = raw.decode()
        pipe = redis.pipeline()
        pipe.hgetall(_COUNTS + minute)
        pipe.delete(_COUNTS + minute)
        pipe.srem(_MINUTES, minute)
        counts = pipe.execute()[0]
        try:
            total += _add(db, datetime.fromisoformat(minute), counts)
        except Exception:
            _put_back(redis, minute, counts)
            raise
    return total


def _add(db: Database, minute: datetime, counts: dict[bytes, bytes]) -> int:
    with db.session() as session:
        rows = {(r.provider, r.reason): r for r in session.scalars(
            select(RejectedDeliveries).where(RejectedDeliveries.minute == minute))}
        for field, value in counts.items():
            provider, _, reason = field.decode().partition(":")
            row = rows.get((provider, reason))
            if row is None:
                row = RejectedDeliveries(provider=provider, reason=reason, minute=minute, count=0)
                session.add(row)
            row.count += int(value)
    return sum(int(v) for v in counts.values())


def _put_back(redis: Redis, minute: str, counts: dict[bytes, bytes]) -> None:
    pipe = redis.pipeline(transaction=False)
    for field, value in counts.items():
        pipe.hincrby(_COUNTS + minute, field, int(value))
    pipe.sadd(_MINUTES, minute)
    pipe.execute()
