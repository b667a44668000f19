"""Roles and repository scopes: who may do what (plain domain code)."""

from __future__ import annotations

from fnmatch import fnmatchcase

ROLES = ("viewer", "developer", "approver", "admin")
TOKEN_SCOPES = ("read", "build", "admin")


def scope_covers(granted: str, needed: str) -> bool:
    """True if a token scope grants `needed` (admin ⊇ build ⊇ read)."""
    return TOKEN_SCOPES.index(granted) >= TOKEN_SCOPES.index(needed)


def in_scope(patterns: list[str], repository: str) -> bool:
    """True if a repository full name matches one of the patterns (e.g. 'acme/*')."""
    name = repository.lower()
    return any(fnmatchcase(name, pattern.lower()) for pattern in patterns)


def may_approve(role: str, patterns: list[str], repository: str) -> bool:
    """Admins approve anything; approvers only repositories in their scope."""
    if role == "admin":
        return True
    return role == "approver" and in_scope(patterns, repository)
