"""Following a build's log as it is written, until the build ends (API, UI and CLI)."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass

from redis import Redis

from builder.buildlog import stream_key
from record.db import Database
from record.models import Build
from states import BuildStatus

BLOCK_MILLISECONDS = 1000
MAX_IDLE_POLLS = 4 * 3600  # a follower never hangs for ever on a build nobody runs
# Followers one web process serves at once (ops/gunicorn_conf.py gives it 8 threads more).
FOLLOWERS_PER_PROCESS = 24
# A quiet stream gets a comment line this often: proxies do not time it out, and a client
# that left is noticed at the write, which frees its thread and its follower slot.
KEEPALIVE_SECONDS = 15
# While lines stream in, the build's status is read from the database at most this often.
STATUS_EVERY_SECONDS = 1.0
_STREAM_ID = re.compile(r"[0-9]{1,20}-[0-9]{1,20}")
_STORED_ID = re.compile(r"log-([0-9]{1,9})")


class Line(str):
    """One log line, with the id a follower gives back to resume after it."""

    entry_id: str

    def __new__(cls, text: str, entry_id: str) -> Line:
        line = super().__new__(cls, text)
        line.entry_id = entry_id
        return line


@dataclass(frozen=True)
class End:
    """The build ended with this status."""

    status: str


@dataclass(frozen=True)
class Status:
    """The build moved on to this status (only when asked for)."""

    status: str


@dataclass(frozen=True)
class Quiet:
    """Nothing happened for a while (only when asked for): a keep-alive."""


def follow(redis: Redis, db: Database, build_id: str, after: str = "",
           statuses: bool = False, block_ms: int | None = BLOCK_MILLISECONDS,
           idle_polls: int = MAX_IDLE_POLLS, keepalive_s: float | None = None) \
        -> Iterator[Line | Status | Quiet | End]:
    """Each log line after the id `after` as it arrives (and each status change, if asked),
    then End once the build has ended; Quiet after keepalive_s seconds without anything to
    say (if given); gives up after idle_polls polls that found nothing (each waiting block_ms,
    or not at all if None)."""
    last_id = after if _STREAM_ID.fullmatch(after or "") else "0"
    stored_id = _STORED_ID.fullmatch(after or "")
    skip_stored = int(stored_id.group(1)) + 1 if stored_id else 0
    idle, seen, entries = 0, None, None
    checked = said = time.monotonic()
    status, stored = _state(db, build_id)
    while idle < idle_polls:
        if not entries or time.monotonic() - checked >= STATUS_EVERY_SECONDS:
            if entries is not None:
                status, stored = _state(db, build_id)
            checked = time.monotonic()
        if statuses and status != seen:
            seen = status
            said = time.monotonic()
            yield Status(status)
        ended = BuildStatus(status).is_final
        # Once the build has ended, only what is left in the stream remains to be read.
        entries = redis.xread({stream_key(build_id): last_id},
                              block=None if ended else block_ms)
        for _key, items in entries or []:
            for entry_id, fields in items:
                last_id = entry_id.decode()
                yield Line(fields[b"line"].decode(errors="replace"), last_id)
        if entries:
            idle, said = 0, time.monotonic()
            continue
        if ended:
            if last_id == "0" and stored:  # the live stream expired: replay the stored log
                for number, text in enumerate(stored.rstrip("\n").split("\n")):
                    if number >= skip_stored:
                        yield Line(text, f"log-{number}")
            yield End(status)
            return
        idle += 1
        if keepalive_s is not None and time.monotonic() - said >= keepalive_s:
            said = time.monotonic()
            yield Quiet()


def events(items: Iterator[Line | Status | Quiet | End]) -> Iterator[str]:
    """The same as Server-Sent Events: one `data:` event per line with its `id:` (a client
    that reconnects sends it back as Last-Event-ID), `status` events, a comment line for each
    Quiet, then an `end` event."""
    for item in items:
        if isinstance(item, Quiet):
            yield ": keep-alive\n\n"
        elif isinstance(item, End):
            yield f"event: end\ndata: {json.dumps({'status': item.status})}\n\n"
        elif isinstance(item, Status):
            yield f"event: status\ndata: {json.dumps({'status': item.status})}\n\n"
        else:
            # A carriage return would end the field: a build could forge events with one.
            yield f"id: {item.entry_id}\ndata: {item.replace(chr(13), '')}\n\n"


def _state(db: Database, build_id: str) -> tuple[str, str | None]:
    with db.session() as session:
        build = session.get(Build, build_id)
        return build.status, build.log
