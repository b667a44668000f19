"""The build log: published line by line to Redis while the build runs, kept whole at the end."""

from __future__ import annotations

import logging
from collections.abc import Iterator

from redis import Redis
from redis.exceptions import RedisError

STREAM_MAXLEN = 20_000
FINISHED_TTL_SECONDS = 24 * 3600
log = logging.getLogger(__name__)


def stream_key(build_id: str) -> str:
    """Redis key of a build's live log stream."""
    return f"lockmaster:buildlog:{build_id}"


class BuildLog:
    """Collects a build's log lines and publishes each one as it arrives."""

    def __init__(self, redis: Redis, build_id: str):
        self.redis = redis
        self.key = stream_key(build_id)
        self.lines: list[str] = []

    def write(self, text: str) -> None:
        """Add one or more lines to the log."""
        for line in text.rstrip("\n").split("\n"):
            self.lines.append(line)
            try:
                self.redis.xadd(self.key, {"line": line}, maxlen=STREAM_MAXLEN, approximate=True)
            except RedisError as exc:  # the stored log at the end still has the line
                log.warning("could not publish a log line: %s", exc)

    def redact(self, clean) -> None:
        """Rewrite every line so far with clean(line) (masking secrets), live stream included."""
        cleaned = [clean(line) for line in self.lines]
        if cleaned == self.lines:
            return
        self.lines = cleaned
        try:
            pipe = self.redis.pipeline()
            pipe.delete(self.key)
            for line in cleaned:
                pipe.xadd(self.key, {"line": line}, maxlen=STREAM_MAXLEN, approximate=True)
            pipe.execute()
        except RedisError as exc:
            log.warning("could not rewrite the live log: %s", exc)

    def tail(self, count: int = 15) -> str:
        """The last `count` lines, for failure reasons."""
        return "\n".join(self.lines[-count:])

    def text(self) -> str:
        """The whole log."""
        return "\n".join(self.lines) + ("\n" if self.lines else "")

    def close(self) -> None:
        """Let the live stream expire now that the log is stored in the database."""
        try:
            self.redis.expire(self.key, FINISHED_TTL_SECONDS)
        except RedisError as exc:
            log.warning("could not expire the live log: %s", exc)


def live_lines(redis: Redis, build_id: str) -> Iterator[str]:
    """The lines published so far for a running build."""
    for _id, fields in redis.xrange(stream_key(build_id)):
        yield fields[b"line"].decode(errors="replace")
