"""GitLab push webhooks: X-Gitlab-Token, Idempotency-Key / X-Gitlab-Event-UUID, Push Hooks."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping

from webhooks.events import (
    ZERO_SHA,
    IgnoredEvent,
    PushEvent,
    account_ids,
    field,
    load_json_object,
    text,
)

NAME = "gitlab"
DELIVERY_HEADER = "Idempotency-Key or X-Gitlab-Event-UUID"
PUSH_EVENTS = {"Push Hook", "Tag Push Hook"}


def is_authentic(secret: str, body: bytes, headers: Mapping[str, str]) -> bool:
    """True if X-Gitlab-Token equals secret (GitLab sends the secret itself, not a signature)."""
    token = headers.get("X-Gitlab-Token")
    return bool(token) and hmac.compare_digest(token.encode(), secret.encode())


def delivery_id(headers: Mapping[str, str], body: bytes = b"") -> str | None:
    """GitLab's Idempotency-Key (same on every retry), else the event's UUID, else (older
    GitLab versions send neither) a hash of the body, which a retry sends unchanged."""
    given = headers.get("Idempotency-Key") or headers.get("X-Gitlab-Event-UUID")
    return given or "body-sha256:" + hashlib.sha256(body).hexdigest()


def repository_name(payload: object) -> str | None:
    """The project's full path, if the payload names one."""
    return text(payload, "project", "path_with_namespace")


def parse(headers: Mapping[str, str], body: bytes) -> list[PushEvent] | IgnoredEvent:
    """Turn an authentic delivery into PushEvents, or say why it asks for no build."""
    event = headers.get("X-Gitlab-Event", "")
    payload = load_json_object(body)
    if event not in PUSH_EVENTS:
        return IgnoredEvent(event or "unknown", f"event '{event}' does not trigger builds",
                            repository_name(payload))
    return [_push(payload)]


def _push(payload: dict) -> PushEvent:
    project = field(payload, "project", dict)
    after = field(payload, "after", str).lower()
    # For an annotated tag `after` is the tag object; checkout_sha is the commit it points at.
    checkout = payload.get("checkout_sha")
    sha = checkout.lower() if isinstance(checkout, str) else after
    head = _commit(payload, sha)
    return PushEvent(
        provider=NAME,
        repository=field(project, "path_with_namespace", str),
        ref=field(payload, "ref", str),
        after=sha,
        clone_url=text(project, "git_http_url"),
        source_url=text(project, "web_url"),
        pusher=text(payload, "user_username") or text(payload, "user_name"),
        pusher_ids=account_ids(payload.get("user_id")),
        commit_message=text(head, "message"),
        commit_author=text(head, "author", "name") or text(head, "author", "email"),
        deleted=after == ZERO_SHA,
    )


def _commit(payload: dict, sha: str) -> dict:
    commits = payload.get("commits") if isinstance(payload.get("commits"), list) else []
    return next((c for c in commits if isinstance(c, dict) and c.get("id") == sha), {})
