"""What the token service did, counted in Redis on the request path and written to the audit
off it: one row per account, granted scopes and minute; refusals and partial grants one row
each (at most MAX_SINGLE_ROWS a minute); when robots and API tokens were last used."""

from __future__ import annotations

import json
import time
import uuid
from datetime import UTC, datetime

from redis import Redis
from redis.client import Pipeline
from redis.exceptions import ResponseError
from sqlalchemy import update

from record.accounts import ApiToken
from record.audit import AuditEvent
from record.db import Database
from record.registry_access import Robot

ACTION = "registry-token"
MAX_SINGLE_ROWS = 1000
_GRANTS = "lockmaster:token-grants"
_SINGLE = "lockmaster:token-single"
_LAST_USED = "lockmaster:token-last-used"
_LAST_USED_FLUSHED = "lockmaster:token-last-used:flushed"
_KEEP_SECONDS = 2 * 86400  # what no worker flushed for two days is dropped, not hoarded


def record(redis: Redis, actor: str, outcome: str, asked: list[str], granted: list[str],
           detail: str | None = None, used: str | None = None) -> None:
    """Count one token request now (one Redis round trip)."""
    with redis.pipeline(transaction=False) as pipe:
        count(pipe, actor, outcome, asked, granted, detail, used)
        pipe.execute()


def count(pipe: Pipeline, actor: str, outcome: str, asked: list[str], granted: list[str],
          detail: str | None = None, used: str | None = None,
          now: float | None = None) -> None:
    """Add one token request's counts to a pipeline the caller executes: a full grant adds
    to its minute's count, anything else is kept for a row of its own."""
    now = time.time() if now is None else now
    if outcome == "ok":
        count_grants(pipe, int(now // 60), actor, granted, 1)
    else:
        pipe.rpush(_SINGLE, json.dumps({"actor": actor, "outcome": outcome, "at": now,
                                        "asked": asked, "granted": granted,
                                        "detail": detail}))
        pipe.ltrim(_SINGLE, -MAX_SINGLE_ROWS, -1)  # a flood keeps its newest rows
    if used:
        count_used(pipe, {used: int(now)})


def count_grants(pipe: Pipeline, minute: int, actor: str, granted: list[str],
                 times: int) -> None:
    """Add full grants of the same scopes to an account's count of that minute."""
    count_minute(pipe, minute, {(actor, tuple(granted)): times})


def count_minute(pipe: Pipeline, minute: int, counts: dict[tuple[str, tuple], int]) -> None:
    """Add full grants of one minute, counted by (account, granted scopes), with one expiry
    for the minute's key (a web process hands over a second of grants at once)."""
    key = f"{_GRANTS}:{minute}"
    for (actor, granted), times in counts.items():
        pipe.hincrby(key, json.dumps([actor, list(granted)]), times)
    pipe.expire(key, _KEEP_SECONDS)


def count_used(pipe: Pipeline, used: dict[str, int]) -> None:
    """Note when robots and API tokens ("robot:NAME", "token:HASH") were last used."""
    pipe.hset(_LAST_USED, mapping=used)


def flush(redis: Redis, db: Database, now: float | None = None, everything: bool = False) -> int:
    """Write what was counted to the database; returns the audit rows written. Full grants are
    written per finished minute (`everything` also writes the current one, for tests and
    shutdown); last use at most once a minute. Safe with several workers flushing at once."""
    now = time.time() if now is None else now
    written = _flush_grants(redis, db, int(now // 60), everything)
    written += _flush_single(redis, db)
    if everything or redis.set(_LAST_USED_FLUSHED, 1, nx=True, ex=60):
        _flush_last_used(redis, db)
    return written


def _claim(redis: Redis, key: str) -> str | None:
    """Rename key to a name only this flusher knows (None when another took it first)."""
    claimed = f"{key}:flushing:{uuid.uuid4().hex}"
    try:
        redis.rename(key, claimed)
    except ResponseError:  # "no such key": another flusher has it
        return None
    return claimed


def _flush_grants(redis: Redis, db: Database, current: int, everything: bool) -> int:
    written = 0
    for raw in redis.scan_iter(f"{_GRANTS}:*", count=1000):
        key = raw.decode()
        minute = key.rsplit(":", 1)[1]
        if not minute.isdigit() or (int(minute) >= current and not everything):
            continue
        claimed = _claim(redis, key)
        if claimed is None:
            continue
        counts = redis.hgetall(claimed)
        at = datetime.fromtimestamp(int(minute) * 60, UTC).replace(tzinfo=None)
        with db.session() as session:
            for field, count in counts.items():
                actor, granted = json.loads(field)
                session.add(AuditEvent(
                    action=ACTION, actor=actor, target=" ".join(granted) or None, at=at,
                    outcome="ok", detail=f"{int(count)} token(s) in the minute from "
                                         f"{at:%H:%M} UTC",
                    data={"asked": granted, "granted": granted, "count": int(count)}))
                written += 1
        redis.delete(claimed)
    return written


def _flush_single(redis: Redis, db: Database) -> int:
    items = redis.lpop(_SINGLE, MAX_SINGLE_ROWS) or []
    if not items:
        return 0
    with db.session() as session:
        for item in items:
            event = json.loads(item)
            session.add(AuditEvent(
                action=ACTION, actor=event["actor"], target=" ".join(event["asked"]) or None,
                at=datetime.fromtimestamp(event["at"], UTC).replace(tzinfo=None),
                outcome=event["outcome"], detail=event["detail"],
                data={"asked": event["asked"], "granted": event["granted"]}))
    return len(items)


def _flush_last_used(redis: Redis, db: Database) -> None:
    claimed = _claim(redis, _LAST_USED)
    if claimed is None:
        return
    with db.session() as session:
        for field, stamp in redis.hgetall(claimed).items():
            kind, _, value = field.decode().partition(":")
            when = datetime.fromtimestamp(int(stamp), UTC).replace(tzinfo=None)
            table, column = (Robot, Robot.name) if kind == "robot" else \
                (ApiToken, ApiToken.token_hash)
            session.execute(update(table).where(column == value).values(last_used_at=when))
    redis.delete(claimed)
