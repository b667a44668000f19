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
    # The pusher's stable account id(s) on the Git host (names can be changed; ids cannot).
    pusher_ids: tuple[str, ...] = ()
    pusher_host: str | None = None  # whose ids they are: the repository's provider by default
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


def account_ids(*values: object) -> tuple[str, ...]:
    """The account ids among values (numbers or short strings), as lower-case text."""
    found = []
    for value in values:
        if isinstance(value, int) and not isinstance(value, bool):
            value = str(value)
        if isinstance(value, str) and 0 < len(value.strip()) <= 100:
            found.append(value.strip().lower())
    return tuple(dict.fromkeys(found))


def sender_id(payload: dict) -> tuple[str, ...]:
    """GitHub's and Gitea's `sender.id`."""
    sender = payload.get("sender")
    return account_ids(sender.get("id")) if isinstance(sender, dict) else ()
