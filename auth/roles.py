"""Roles and repository scopes: who may do what (plain domain code)."""

from __future__ import annotations

from fnmatch import fnmatchcase

ROLES = ("viewer", "developer", "approver", "admin")
TOKEN_SCOPES = ("read", "build", "admin")


def scope_covers(granted: str, needed: str) -> bool:
    """True if a token scope grants `needed` (admin ⊇ build ⊇ read)."""
    return TOKEN_SCOPES.index(granted) >= TOKEN_SCOPES.index(needed)


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


def may_approve(role: str, patterns: list[str], repository: str, team: str | None = None) \
        -> bool:
    """Admins approve anything; approvers only repositories (or teams) in their scope."""
    if role == "admin":
        return True
    return role == "approver" and in_scope(patterns, repository, team)
