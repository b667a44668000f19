"""Writing admitted deliveries from the intake stream to the database in batches
(deliveries, builds, triggers, supersedes), then hands the new builds to the workers.

At least once and idempotent: an entry is acknowledged only after its rows are committed, a
delivery id is recorded once, and entries a dead recorder held are claimed by another."""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, field
from datetime import datetime

from redis.exceptions import ResponseError
from sqlalchemy import select

from bootstrap import Runtime
from builder.buildkeys import forget_build, offer_build
from record.models import Build, Delivery, new_build_id
from record.triggers import BuildTrigger
from webhooks.intake_stream import GROUP, STREAM, parse_builds
from webhooks.recorder.handover import RELEASED, hand_over, new_build
from webhooks.supersede import supersede_older

BATCH = 200
CLAIM_IDLE_MS = 30_000
QUIET_MS = 2  # no delivery this long after one: it came alone, record it
GATHER_PAUSE_MS = 25  # during a burst, look for more this often; none came: record them
MAX_GATHER_SECONDS = 1.0
MAX_GATHERED = 2_000
log = logging.getLogger(__name__)


@dataclass
class Entry:
    """One admitted delivery as read from the stream."""

    id: str
    meta: dict
    body: bytes | None
    builds: list[str]


@dataclass
class Recorded:
    """What recording one entry made: the new builds and the builds it joined."""

    entry: Entry
    new: list[Build] = field(default_factory=list)
    joined: list[str] = field(default_factory=list)
    rebuilt: list[tuple[str, Build]] = field(default_factory=list)
    requeue: list[Build] = field(default_factory=list)


def ensure_group(runtime: Runtime) -> None:
    """Create the recorders' consumer group (from the stream's start) if it does not exist."""
    try:
        runtime.redis.xgroup_create(STREAM, GROUP, id="0", mkstream=True)
    except ResponseError as exc:
        if "BUSYGROUP" not in str(exc):
            raise


def record_new(runtime: Runtime, consumer: str, block_ms: int | None = None) -> int:
    """Take the entries nobody has taken — and, during a burst, those that keep coming, until
    the burst pauses (or for at most MAX_GATHER_SECONDS) — then record them; how many.

    Gathering first leaves the CPU to the web app while Git hosts are waiting for answers
    (recording a burst as it arrives took as much CPU as answering it). While gathering, the
    recorder looks at the stream every GATHER_PAUSE_MS instead of waiting on it (a waiting
    reader is woken by every delivery) and decodes nothing until the burst is over; a lone
    delivery waits only QUIET_MS."""
    taken = _read(runtime, consumer, block_ms)
    if not taken:
        return 0
    started, pause = time.monotonic(), QUIET_MS
    while len(taken) < MAX_GATHERED and time.monotonic() - started < MAX_GATHER_SECONDS:
        time.sleep(pause / 1000)
        more = _read(runtime, consumer, None)
        if not more:
            break
        taken += more
        pause = GATHER_PAUSE_MS
    entries = [_entry(entry_id, fields) for entry_id, fields in taken if fields]
    for start in range(0, len(entries), BATCH):
        record(runtime, entries[start:start + BATCH])
    return len(taken)


def _read(runtime: Runtime, consumer: str, block_ms: int | None) -> list[tuple]:
    """Up to MAX_GATHERED entries nobody has taken, as (id, fields), waiting up to block_ms for
    the first (not at all if None)."""
    reply = runtime.redis.xreadgroup(GROUP, consumer, {STREAM: ">"}, count=MAX_GATHERED,
                                     block=block_ms)
    return [item for _stream, items in reply or [] for item in items]


def claim_abandoned(runtime: Runtime, consumer: str, min_idle_ms: int = CLAIM_IDLE_MS) -> int:
    """Record entries another recorder took but did not acknowledge in time (it died)."""
    _next, claimed, _deleted = runtime.redis.xautoclaim(STREAM, GROUP, consumer, min_idle_ms,
                                                         count=BATCH)
    entries = [_entry(entry_id, fields) for entry_id, fields in claimed if fields]
    if entries:
        record(runtime, entries)
    return len(entries)


def record(runtime: Runtime, entries: list[Entry]) -> None:
    """Record entries in one transaction (one by one if that fails), then acknowledge and hand
    over what was recorded; an entry that cannot be recorded stays for a later claim."""
    try:
        done = _record(runtime, entries)
    except Exception:
        log.exception("recording %d deliveries together failed; recording them one by one",
                      len(entries))
        done = []
        for entry in entries:
            try:
                done += _record(runtime, [entry])
            except Exception:
                log.exception("could not record delivery entry %s; it will be tried again",
                              entry.id)
    for recorded in done:
        for old_id, build in recorded.rebuilt:
            offer_build(runtime.redis, build.dedupe_key, build.id)
            log.info("build %s of %s had ended; pushed again, built as %s", old_id,
                     build.commit_sha, build.id)
    hand_over(runtime, done)
    if done:
        ids = [r.entry.id for r in done]
        pipe = runtime.redis.pipeline()
        pipe.xack(STREAM, GROUP, *ids)
        pipe.xdel(STREAM, *ids)
        pipe.execute()


def pending(runtime: Runtime) -> int:
    """Entries admitted but not yet recorded (read or not)."""
    return runtime.redis.xlen(STREAM)


def _record(runtime: Runtime, entries: list[Entry]) -> list[Recorded]:
    with runtime.db.session() as session, session.no_autoflush:
        batch = _Batch.load(session, entries)
        done = []
        for entry in entries:
            key = entry.meta.get("dedupe_key")
            if key and key in batch.seen:  # recorded before: a recorder died before
                done.append(_again(session, entry, key))  # acknowledging it, or Redis forgot
                continue
            batch.seen.add(key)
            done.append(_write(session, batch, entry))
        session.flush()
        superseded = set(supersede_older(session, _newest_per_ref(batch.made)))
        for recorded in done:
            recorded.new = [b for b in recorded.new if b.id not in superseded]
        released = [(b.dedupe_key, b.id) for b in batch.made if b.id in superseded]
    for build_key, build_id in released:
        forget_build(runtime.redis, build_key, build_id)
    return done


@dataclass
class _Batch:
    """What one transaction knows: delivery ids recorded, builds by id and by dedupe key."""

    seen: set
    builds: dict[str, Build]
    holders: dict[str, Build]
    made: list[Build] = field(default_factory=list)

    @classmethod
    def load(cls, session, entries: list[Entry]) -> _Batch:
        """Read, in three queries, every row the entries may touch."""
        keys = [e.meta["dedupe_key"] for e in entries if e.meta.get("dedupe_key")]
        ids = {build_id for e in entries for build_id in e.builds}
        build_keys = {p["build_key"] for e in entries for p in e.meta.get("plans") or []}
        seen = set(session.scalars(select(Delivery.dedupe_key).where(
            Delivery.dedupe_key.in_(keys)))) if keys else set()
        builds = {b.id: b for b in session.scalars(select(Build).where(Build.id.in_(ids)))} \
            if ids else {}
        holders = {b.dedupe_key: b for b in session.scalars(
            select(Build).where(Build.dedupe_key.in_(build_keys)))} if build_keys else {}
        return cls(seen, builds, holders)


def _newest_per_ref(builds: list[Build]) -> list[Build]:
    """Of the builds made in a batch, the newest for each (repository, ref): only those
    supersede (the older ones of a ref are superseded by them)."""
    newest: dict[tuple[str, str], Build] = {}
    for build in builds:
        for trigger in build.triggers:
            key = (build.repository, trigger.ref)
            if trigger.ref and (key not in newest or newest[key].id < build.id):
                newest[key] = build
    return sorted({b.id: b for b in newest.values()}.values(), key=lambda b: b.id)


def _again(session, entry: Entry, key: str) -> Recorded:
    """An entry whose delivery is recorded: nothing to write; its builds that are still queued
    are handed over again (a job that exists is not queued twice)."""
    delivery = session.scalar(select(Delivery).where(Delivery.dedupe_key == key))
    queued = [] if delivery is None else [b for b in delivery.builds if b.status == "queued"]
    return Recorded(entry, requeue=queued)


def _write(session, batch: _Batch, entry: Entry) -> Recorded:
    meta, recorded = entry.meta, Recorded(entry)
    received_at = datetime.fromisoformat(meta["received_at"])
    delivery = Delivery(
        provider=meta["provider"], delivery_id=meta["delivery_id"], event=meta.get("event"),
        dedupe_key=meta.get("dedupe_key"), repository=meta.get("repository"),
        ref=meta.get("ref"), outcome=meta["outcome"], reason=meta.get("reason"),
        status_code=meta["status"], headers=meta.get("headers"), body=entry.body,
        replay_of=meta.get("replay_of"), received_at=received_at)
    session.add(delivery)
    for plan, build_id in zip(meta.get("plans") or [], entry.builds, strict=True):
        build = batch.builds.get(build_id)
        if build is None:
            build = _add_build(session, batch, plan, build_id, received_at, delivery, recorded)
        elif build.status in RELEASED:
            old_id = build.id
            build = _add_build(session, batch, plan, new_build_id(), received_at, delivery,
                               recorded)
            recorded.rebuilt.append((old_id, build))
        elif build not in batch.made and build.id not in recorded.joined:
            recorded.joined.append(build.id)
        batch.builds[build_id] = build  # later pushes of this batch that joined it join it
        session.add(BuildTrigger(build=build, delivery=delivery, repository=plan["repository"],
                                 ref=plan["ref"]))
    return recorded


def _add_build(session, batch: _Batch, plan: dict, build_id: str, at: datetime,
               delivery: Delivery, recorded: Recorded) -> Build:
    """A new build of the plan; it takes the commit's dedupe key from any older build."""
    holder = batch.holders.get(plan["build_key"])
    if holder is not None and holder.dedupe_key == plan["build_key"]:
        holder.dedupe_key = None
        session.flush()
    build = new_build(plan, build_id, at)
    build.delivery = delivery
    session.add(build)
    batch.holders[plan["build_key"]] = build
    batch.made.append(build)
    recorded.new.append(build)
    return build


def _entry(entry_id: bytes, fields: dict) -> Entry:
    meta = json.loads(fields[b"meta"])
    body = fields.get(b"body") if meta.get("has_body") else None
    builds = [b for b, _new in parse_builds(fields.get(b"builds", b"").decode())]
    return Entry(entry_id.decode(), meta, body, builds)
