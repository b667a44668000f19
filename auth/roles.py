"""Roles, token scopes and repository scopes: who may do what (plain domain code).

`may` is the one answer to "may this person do this action on this repository"; the API,
the CLI and the web pages all ask it (through `auth.access.may` for a logged-in user)."""

from __future__ import annotations

from fnmatch import fnmatchcase

ROLES = ("viewer", "developer", "approver", "admin")
TOKEN_SCOPES = ("read", "build", "approve", "admin")
ACTIONS = ("read", "build", "cancel", "retry", "approve", "rollback")
# Deciding needs a repository scope; the rest, with no scope given, covers every repository.
DECIDING = frozenset({"approve", "rollback"})
_BUILDING = frozenset({"read", "build", "cancel", "retry"})
ROLE_ACTIONS = {"viewer": frozenset({"read"}), "developer": _BUILDING,
                "approver": _BUILDING | DECIDING, "admin": frozenset(ACTIONS)}
SCOPE_ACTIONS = {"read": frozenset({"read"}), "build": _BUILDING,
                 "approve": frozenset({"read"}) | DECIDING, "admin": frozenset(ACTIONS)}


def scope_covers(granted: str, needed: str) -> bool:
    """True if a token scope grants `needed` (read ⊂ build, read ⊂ approve, admin ⊇ all)."""
    return SCOPE_ACTIONS[needed] <= SCOPE_ACTIONS.get(granted, frozenset())


def scope_for(action: str) -> str:
    """The smallest token scope that grants action."""
    return next(scope for scope in TOKEN_SCOPES if action in SCOPE_ACTIONS[scope])


def in_scope(patterns: list[str], repository: str, team: str | None = None) -> bool:
    """True if the repository matches a pattern ('acme/*') or its team does ('team:payments')."""
    name = repository.lower()
    for pattern in (p.lower() for p in patterns):
        if pattern.startswith("team:"):
            if team and pattern.removeprefix("team:") == team.lower():
                return True
        elif fnmatchcase(name, pattern):
            return True
    return False


def may(role: str, patterns: list[str], action: str, repository: str,
        team: str | None = None, token_scope: str | None = None) -> bool:
    """True if a person of role, scoped to patterns (through a token of token_scope, if a
    token is how they ask), may do action on repository."""
    if token_scope is not None and action not in SCOPE_ACTIONS.get(token_scope, ()):
        return False
    if action not in ROLE_ACTIONS.get(role, ()):
        return False
    if role == "admin":
        return True
    if not patterns:
        return action not in DECIDING
    return in_scope(patterns, repository, team)


def may_approve(role: str, patterns: list[str], repository: str, team: str | None = None) \
        -> bool:
    """Admins approve anything; approvers only repositories (or teams) in their scope."""
    return may(role, patterns, "approve", repository, team)


def readable(role: str, patterns: list[str], names: list[tuple[str, str | None]]) \
        -> list[str] | None:
    """The repository names (of (name, team) pairs) a person may read; None means all."""
    if role == "admin" or not patterns:
        return None
    return [name for name, team in names if in_scope(patterns, name, team)]
