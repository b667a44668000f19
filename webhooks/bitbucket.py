"""Bitbucket Cloud push webhooks: X-Hub-Signature, X-Request-UUID, repo:push with changes[]."""

from __future__ import annotations

from collections.abc import Mapping

from webhooks.events import (
    ZERO_SHA,
    IgnoredEvent,
    MalformedPayload,
    PushEvent,
    account_ids,
    field,
    load_json_object,
    text,
)
from webhooks.signatures import verify_prefixed_sha256

NAME = "bitbucket"
DELIVERY_HEADER = "X-Request-UUID"
_REF_PREFIX = {"branch": "refs/heads/", "tag": "refs/tags/", "named_branch": "refs/heads/"}


def is_authentic(secret: str, body: bytes, headers: Mapping[str, str]) -> bool:
    """True if the delivery carries a valid `X-Hub-Signature: sha256=…` for secret."""
    return verify_prefixed_sha256(secret, body, headers.get("X-Hub-Signature"))


def delivery_id(headers: Mapping[str, str], _body: bytes = b"") -> str | None:
    """The id Bitbucket gives each delivery (the same on a redelivery)."""
    return headers.get(DELIVERY_HEADER)


def repository_name(payload: object) -> str | None:
    """The repository's full name, if the payload names one."""
    return text(payload, "repository", "full_name")


def parse(headers: Mapping[str, str], body: bytes) -> list[PushEvent] | IgnoredEvent:
    """Turn an authentic delivery into one PushEvent per changed ref, or say why none."""
    event = headers.get("X-Event-Key", "")
    payload = load_json_object(body)
    if event == "diagnostics:ping":
        return IgnoredEvent(event, "ping: the hook works", repository_name(payload))
    if event != "repo:push":
        return IgnoredEvent(event or "unknown", f"event '{event}' does not trigger builds",
                            repository_name(payload))
    repo = field(payload, "repository", dict)
    changes = field(field(payload, "push", dict), "changes", list)
    if not changes:
        raise MalformedPayload("push payload has no changes")
    return [_change(payload, repo, change) for change in changes]


def _change(payload: dict, repo: dict, change: object) -> PushEvent:
    if not isinstance(change, dict):
        raise MalformedPayload("push.changes must hold objects")
    new, old = change.get("new"), change.get("old")
    state = new if isinstance(new, dict) else old
    if not isinstance(state, dict):
        raise MalformedPayload("a change has neither 'new' nor 'old'")
    prefix = _REF_PREFIX.get(state.get("type"))
    if prefix is None:
        raise MalformedPayload(f"a change has an unknown ref type {state.get('type')!r}")
    deleted = not isinstance(new, dict)
    html = text(repo, "links", "html", "href")
    return PushEvent(
        provider=NAME,
        repository=field(repo, "full_name", str),
        ref=prefix + field(state, "name", str),
        after=ZERO_SHA if deleted else field(field(new, "target", dict), "hash", str).lower(),
        clone_url=f"{html}.git" if html else None,
        source_url=html,
        pusher=text(payload, "actor", "nickname") or text(payload, "actor", "display_name"),
        pusher_ids=account_ids(text(payload, "actor", "account_id"),
                               text(payload, "actor", "uuid")),
        commit_message=None if deleted else text(new, "target", "message"),
        commit_author=None if deleted else (text(new, "target", "author", "user", "display_name")
                                            or text(new, "target", "author", "raw")),
        deleted=deleted,
    )
