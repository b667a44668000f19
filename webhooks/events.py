"""What a Git host told us, in Lockmaster's words (plain domain code)."""

from __future__ import annotations

import json
from dataclasses import dataclass

ZERO_SHA = "0" * 40


class MalformedPayload(Exception):
    """The delivery was authentic but its body is not what the Git host documents."""


@dataclass(frozen=True)
class PushEvent:
    """A push of one ref, whatever host it came from (ref "" : a commit built by hand)."""

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


def load_json_object(body: bytes) -> dict:
    """The body as a JSON object, or MalformedPayload saying what is wrong with it."""
    try:
        payload = json.loads(body)
    except ValueError as exc:
        raise MalformedPayload(f"the body is not valid JSON ({exc})") from exc
    if not isinstance(payload, dict):
        raise MalformedPayload("the body must be a JSON object")
    return payload


def field(mapping: dict, key: str, kind: type):
    """mapping[key] if it is a kind, else MalformedPayload naming the key."""
    value = mapping.get(key)
    if not isinstance(value, kind) or value in ("", None):
        raise MalformedPayload(f"push payload has no valid '{key}'")
    return value


def text(mapping: object, *path: str) -> str | None:
    """The string at mapping[path[0]][path[1]]..., or None if any step is missing."""
    for key in path:
        mapping = mapping.get(key) if isinstance(mapping, dict) else None
    return mapping if isinstance(mapping, str) else None
