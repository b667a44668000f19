"""May <user> do <action> on <repository>: the one check the API, CLI and web pages call."""

from __future__ import annotations

from flask import g, has_request_context

from auth import roles
from bootstrap import current_runtime
from config import Settings


def may(user, action: str, repository: str, token_scope: str | None = None) -> bool:
    """True if user (a User, or None for an anonymous caller) may do action on repository;
    token_scope narrows it when the user asks through an API token."""
    if user is None:
        return action == "read" and current_runtime().settings.anonymous_read
    repo = current_runtime().settings.repository_named(repository)
    return roles.may(user.role, list(user.repositories or ()), action, repository,
                     repo.team if repo else None, token_scope)


def readable_repositories(user, settings: Settings) -> list[str] | None:
    """The repositories user may read (None: all of them, also for anonymous reads)."""
    if user is None:
        return None
    return roles.readable(user.role, list(user.repositories or ()),
                          [(r.name, r.team) for r in settings.repositories])


def api_caller():
    """The owner of the API request's token (None when anonymous), and the token's scope."""
    if not has_request_context():
        return None, None
    return getattr(g, "user", None), getattr(g, "token_scope", None)


def api_may(action: str, repository: str) -> bool:
    """True if the API request's caller may do action on repository."""
    user, scope = api_caller()
    return may(user, action, repository, scope)


def api_readable() -> list[str] | None:
    """The repositories the API request's caller may read (None: all)."""
    return readable_repositories(api_caller()[0], current_runtime().settings)


def api_refusal(action: str, repository: str, what: str) -> tuple[int, str] | None:
    """Why the API request's caller may not do action on repository (what: the thing, e.g.
    "build 0190…"): 404 if they may not even read it, 403 if only not this; None if they may."""
    if api_may(action, repository):
        return None
    if not api_may("read", repository):
        return 404, f"no {what}"
    user, scope = api_caller()
    if scope is not None and not roles.scope_covers(scope, roles.scope_for(action)):
        return 403, (f"this token has scope '{scope}', which does not allow {action}: create "
                     f"one with `lockmaster tokens create NAME --scope "
                     f"{roles.scope_for(action)} --user {user.username}`")
    return 403, (f"{user.username} ({user.role}) may not {action} {repository}: ask an admin "
                 "for a role that allows it on this repository")
