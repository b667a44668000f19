"""Following a build's log as it is written, until the build ends (API and CLI)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass

from redis import Redis

from builder.buildlog import stream_key
from builder.states import BuildStatus
from lineage.db import Database
from lineage.models import Build

BLOCK_MILLISECONDS = 1000
MAX_IDLE_POLLS = 4 * 3600  # a follower never hangs for ever on a build nobody runs


@dataclass(frozen=True)
class End:
    """The build ended with this status."""

    status: str


def follow(redis: Redis, db: Database, build_id: str) -> Iterator[str | End]:
    """Each log line as it arrives, then End once the build has ended."""
    last_id, idle = "0", 0
    while idle < MAX_IDLE_POLLS:
        status, stored = _state(db, build_id)
        ended = BuildStatus(status).is_final
        # Once the build has ended, only what is left in the stream remains to be read.
        entries = redis.xread({stream_key(build_id): last_id},
                              block=None if ended else BLOCK_MILLISECONDS)
        for _key, items in entries or []:
            for entry_id, fields in items:
                last_id = entry_id
                yield fields[b"line"].decode(errors="replace")
        if entries:
            idle = 0
            continue
        if ended:
            if last_id == "0" and stored:  # the live stream expired: replay the stored log
                yield from stored.rstrip("\n").split("\n")
            yield End(status)
            return
        idle += 1


def events(lines: Iterator[str | End]) -> Iterator[str]:
    """The same as Server-Sent Events: one `data:` event per line, then an `end` event."""
    for item in lines:
        if isinstance(item, End):
            yield f"event: end\ndata: {json.dumps({'status': item.status})}\n\n"
        else:
            yield f"data: {item}\n\n"


def _state(db: Database, build_id: str) -> tuple[str, str | None]:
    with db.session() as session:
        build = session.get(Build, build_id)
        return build.status, build.log

