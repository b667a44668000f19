"""GitHub push webhooks: X-Hub-Signature-256, X-GitHub-Delivery, the push payload."""

from __future__ import annotations

from collections.abc import Mapping

from webhooks.events import ZERO_SHA, IgnoredEvent, MalformedPayload, PushEvent
from webhooks.signatures import verify_prefixed_sha256

NAME = "github"
DELIVERY_HEADER = "X-GitHub-Delivery"


def is_authentic(secret: str, body: bytes, headers: Mapping[str, str]) -> bool:
    """True if the delivery carries a valid X-Hub-Signature-256 for secret."""
    return verify_prefixed_sha256(secret, body, headers.get("X-Hub-Signature-256"))


def delivery_id(headers: Mapping[str, str]) -> str | None:
    """The id GitHub gives each delivery (the same on a redelivery)."""
    return headers.get(DELIVERY_HEADER)


def repository_name(payload: object) -> str | None:
    """The repository's full name, if the payload names one."""
    repo = payload.get("repository") if isinstance(payload, dict) else None
    name = repo.get("full_name") if isinstance(repo, dict) else None
    return name if isinstance(name, str) else None


def parse(headers: Mapping[str, str], payload: object) -> PushEvent | IgnoredEvent:
    """Turn an authentic delivery into a PushEvent, or say why it asks for no build."""
    event = headers.get("X-GitHub-Event", "")
    if not isinstance(payload, dict):
        raise MalformedPayload("the body must be a JSON object")
    if event == "ping":
        return IgnoredEvent(event, "ping: the hook works", repository_name(payload))
    if event != "push":
        return IgnoredEvent(event or "unknown", f"event '{event}' does not trigger builds",
                            repository_name(payload))
    return _push(payload)


def _push(payload: dict) -> PushEvent:
    repo = _field(payload, "repository", dict)
    ref = _field(payload, "ref", str)
    after = _field(payload, "after", str)
    head = payload.get("head_commit") if isinstance(payload.get("head_commit"), dict) else {}
    author = head.get("author") if isinstance(head.get("author"), dict) else {}
    pusher = payload.get("pusher") if isinstance(payload.get("pusher"), dict) else {}
    return PushEvent(
        provider=NAME,
        repository=_field(repo, "full_name", str),
        ref=ref,
        after=after.lower(),
        clone_url=repo.get("clone_url") if isinstance(repo.get("clone_url"), str) else None,
        source_url=repo.get("html_url") if isinstance(repo.get("html_url"), str) else None,
        pusher=pusher.get("name") or pusher.get("login"),
        commit_message=head.get("message"),
        commit_author=author.get("username") or author.get("name") or author.get("email"),
        deleted=bool(payload.get("deleted")) or after == ZERO_SHA,
    )


def _field(mapping: dict, key: str, kind: type):
    value = mapping.get(key)
    if not isinstance(value, kind):
        raise MalformedPayload(f"push payload has no valid '{key}'")
    return value
