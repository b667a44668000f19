"""The build log: published line by line to Redis while the build runs, kept whole at the end."""

from __future__ import annotations

import logging
from collections.abc import Iterator

from redis import Redis
from redis.exceptions import RedisError

from builder.masking import Masker

STREAM_MAXLEN = 20_000
FINISHED_TTL_SECONDS = 24 * 3600
log = logging.getLogger(__name__)


def stream_key(build_id: str) -> str:
    """Redis key of a build's live log stream."""
    return f"lockmaster:buildlog:{build_id}"


class BuildLog:
    """Collects a build's log lines and publishes each one as it arrives, masked: nothing
    reaches the stored log, the live stream or its readers before its secrets are masked."""

    def __init__(self, redis: Redis, build_id: str, masker: Masker | None = None):
        self.redis = redis
        self.key = stream_key(build_id)
        self.lines: list[str] = []
        self.masker = masker or Masker()
        self._partial = ""

    def add_secret(self, value: str) -> None:
        """Mask value in every line written from now on (a build secret, a signing key)."""
        self.masker.add(value)

    def feed(self, chunk: str) -> None:
        """Add output that may end mid-line: only completed lines are masked and published,
        so a secret split across two chunks is still caught."""
        text = self._partial + chunk
        complete, _newline, self._partial = text.rpartition("\n")
        if _newline:  # blank lines of the engine's stream carry nothing
            self._add([line for line in complete.split("\n") if line.strip()])

    def write(self, text: str) -> None:
        """Add one or more lines to the log (after any output fed before them)."""
        self.flush()
        self._add(text.rstrip("\n").split("\n"))

    def write_lines(self, lines: list[str]) -> None:
        """Add complete lines as they are (blank ones kept), published in one round trip."""
        self.flush()
        if lines:
            self._add(lines)

    def flush(self) -> None:
        """Publish the last fed line even though it has no line end yet."""
        if self._partial:
            partial, self._partial = self._partial, ""
            self._add([partial])

    def _add(self, lines: list[str]) -> None:
        masked = [self.masker(line) for line in lines]
        self.lines.extend(masked)
        try:
            if len(masked) == 1:
                self.redis.xadd(self.key, {"line": masked[0]}, maxlen=STREAM_MAXLEN,
                                approximate=True)
                return
            pipe = self.redis.pipeline(transaction=False)  # one round trip, in order
            for line in masked:
                pipe.xadd(self.key, {"line": line}, maxlen=STREAM_MAXLEN, approximate=True)
            pipe.execute()
        except RedisError as exc:  # the stored log at the end still has the lines
            log.warning("could not publish log lines: %s", exc)

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
        self.flush()
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
