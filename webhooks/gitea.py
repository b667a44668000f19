"""Gitea and Forgejo push webhooks: X-Gitea-Signature (or X-Forgejo-Signature), JSON only."""

from __future__ import annotations

from collections.abc import Mapping

from webhooks.events import (
    ZERO_SHA,
    IgnoredEvent,
    MalformedPayload,
    PushEvent,
    field,
    load_json_object,
    sender_id,
    text,
)
from webhooks.signatures import verify_hex_sha256

NAME = "gitea"
DELIVERY_HEADER = "X-Gitea-Delivery"


def _header(headers: Mapping[str, str], suffix: str) -> str | None:
    return headers.get(f"X-Gitea-{suffix}") or headers.get(f"X-Forgejo-{suffix}")


def is_authentic(secret: str, body: bytes, headers: Mapping[str, str]) -> bool:
    """True if the hex HMAC-SHA256 signature (Gitea's or Forgejo's header) is valid."""
    return verify_hex_sha256(secret, body, _header(headers, "Signature"))


def delivery_id(headers: Mapping[str, str], _body: bytes = b"") -> str | None:
    """The id Gitea/Forgejo gives each delivery (the same on a redelivery)."""
    return _header(headers, "Delivery")


def repository_name(payload: object) -> str | None:
    """The repository's full name, if the payload names one."""
    return text(payload, "repository", "full_name")


def parse(headers: Mapping[str, str], body: bytes) -> list[PushEvent] | IgnoredEvent:
    """Turn an authentic delivery into PushEvents, or say why it asks for no build."""
    content_type = headers.get("Content-Type", "").split(";")[0].strip().lower()
    if content_type == "application/x-www-form-urlencoded":
        raise MalformedPayload("this hook sends form-encoded deliveries: edit the webhook in "
                               "Gitea/Forgejo and set 'POST Content Type' to application/json")
    event = _header(headers, "Event") or ""
    payload = load_json_object(body)
    if event == "delete":
        ref = text(payload, "ref") or "?"
        return IgnoredEvent(event, f"{text(payload, 'ref_type') or 'ref'} {ref} was deleted: "
                                   "nothing to build", repository_name(payload))
    if event != "push":
        return IgnoredEvent(event or "unknown", f"event '{event}' does not trigger builds",
                            repository_name(payload))
    return [_push(payload)]


def _push(payload: dict) -> PushEvent:
    repo = field(payload, "repository", dict)
    after = field(payload, "after", str).lower()
    head = payload.get("head_commit")
    if not isinstance(head, dict):
        commits = payload.get("commits") if isinstance(payload.get("commits"), list) else []
        head = next((c for c in commits if isinstance(c, dict) and c.get("id") == after), {})
    return PushEvent(
        provider=NAME,
        repository=field(repo, "full_name", str),
        ref=field(payload, "ref", str),
        after=after,
        clone_url=text(repo, "clone_url"),
        source_url=text(repo, "html_url"),
        pusher=text(payload, "pusher", "login") or text(payload, "pusher", "username"),
        pusher_ids=sender_id(payload),
        commit_message=text(head, "message"),
        commit_author=text(head, "author", "username") or text(head, "author", "name"),
        deleted=after == ZERO_SHA,
    )
