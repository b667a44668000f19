"""What a Git host told us, in Lockmaster's words (plain domain code)."""

from __future__ import annotations

from dataclasses import dataclass

ZERO_SHA = "0" * 40


class MalformedPayload(Exception):
    """The delivery was authentic but its body is not what the Git host documents."""


@dataclass(frozen=True)
class PushEvent:
    """A push of one ref, whatever host it came from."""

    provider: str
    repository: str
    ref: str
    after: str
    clone_url: str | None
    source_url: str | None = None
    pusher: str | None = None
    commit_message: str | None = None
    commit_author: str | None = None
    deleted: bool = False


@dataclass(frozen=True)
class IgnoredEvent:
    """An authentic delivery that asks for no build (ping, other event kinds)."""

    event: str
    reason: str
    repository: str | None = None
