"""Who may do what on which repository: the role table the UI's buttons and views follow.

viewer reads; developer also builds now, cancels and retries in their repositories; approver
also decides; admin does everything. Plain domain code, one function to swap for the access
rules of the hardening work once they are on main."""

from __future__ import annotations

from auth.roles import ROLES, in_scope

# The least role each action needs.
NEEDS = {"read": "viewer", "build": "developer", "cancel": "developer", "retry": "developer",
         "decide": "approver", "admin": "admin"}


def role_may(role: str, patterns: list[str], action: str, repository: str | None,
             team: str | None = None) -> bool:
    """True if a user with role and repository patterns may do action on repository."""
    if role not in ROLES or action not in NEEDS:
        return False
    if role == "admin":
        return True
    if ROLES.index(role) < ROLES.index(NEEDS[action]) or NEEDS[action] == "admin":
        return False
    return action == "read" or (repository is not None and in_scope(patterns, repository, team))
