"""GitHub push webhooks: X-Hub-Signature-256, X-GitHub-Delivery, the push payload."""

from __future__ import annotations

from collections.abc import Mapping

from webhooks.events import (
    ZERO_SHA,
    IgnoredEvent,
    PushEvent,
    field,
    load_json_object,
    sender_id,
    text,
)
from webhooks.signatures import verify_prefixed_sha256

NAME = "github"
DELIVERY_HEADER = "X-GitHub-Delivery"


def is_authentic(secret: str, body: bytes, headers: Mapping[str, str]) -> bool:
    """True if the delivery carries a valid X-Hub-Signature-256 for secret."""
    return verify_prefixed_sha256(secret, body, headers.get("X-Hub-Signature-256"))


def delivery_id(headers: Mapping[str, str], _body: bytes = b"") -> str | None:
    """The id GitHub gives each delivery (the same on a redelivery)."""
    return headers.get(DELIVERY_HEADER)


def repository_name(payload: object) -> str | None:
    """The repository's full name, if the payload names one."""
    repo = payload.get("repository") if isinstance(payload, dict) else None
    name = repo.get("full_name") if isinstance(repo, dict) else None
    return name if isinstance(name, str) else None


def parse(headers: Mapping[str, str], body: bytes) -> list[PushEvent] | IgnoredEvent:
    """Turn an authentic delivery into PushEvents, or say why it asks for no build."""
    event = headers.get("X-GitHub-Event", "")
    payload = load_json_object(body)
    if event == "ping":
        return IgnoredEvent(event, "ping: the hook works", repository_name(payload))
    if event != "push":
        return IgnoredEvent(event or "unknown", f"event '{event}' does not trigger builds",
                            repository_name(payload))
    return [_push(payload)]


def _push(payload: dict) -> PushEvent:
    repo = field(payload, "repository", dict)
    ref = field(payload, "ref", str)
    after = field(payload, "after", str)
    head = payload.get("head_commit") if isinstance(payload.get("head_commit"), dict) else {}
    return PushEvent(
        provider=NAME,
        repository=field(repo, "full_name", str),
        ref=ref,
        after=after.lower(),
        clone_url=text(repo, "clone_url"),
        source_url=text(repo, "html_url"),
        pusher=text(payload, "pusher", "name") or text(payload, "pusher", "login"),
        pusher_ids=sender_id(payload),
        commit_message=text(head, "message"),
        commit_author=text(head, "author", "username") or text(head, "author", "name")
        or text(head, "author", "email"),
        deleted=bool(payload.get("deleted")) or after == ZERO_SHA,
    )
