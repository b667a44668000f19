"""The logged-in user's rights in the UI (templates show buttons by it; views enforce it).

The rule itself is hard-access's `auth.access.may` (role and repository scope), the same one
the API and the CLI ask; only "admin" (the users page) is a role check of its own."""

from __future__ import annotations

from flask import abort, request
from flask_login import current_user

from auth.access import may, readable_repositories
from bootstrap import current_runtime
from record.audit import audit


def allowed(action: str, repository: str | None = None) -> bool:
    """True if the current user may do action ("admin", or an auth.roles action) on
    repository."""
    if not current_user.is_authenticated:
        return False
    if action == "admin":
        return current_user.role == "admin"
    return repository is not None and may(current_user, action, repository)


def readable() -> list[str] | None:
    """The repositories the current user may read (None: all of them)."""
    return readable_repositories(current_user, current_runtime().settings)


def require(action: str, repository: str | None = None) -> None:
    """Stop unless the current user may do action: 404 for a repository they may not read
    (its existence stays hidden, as in the API), else 403 with an audit record."""
    if allowed(action, repository):
        return
    if repository is not None and not allowed("read", repository):
        abort(404, f"no repository '{repository}' among yours")
    audit(current_runtime().db, action, current_user.username, request.path,
          outcome="refused", repository=repository,
          detail=f"role {current_user.role} may not {action} {repository or ''}".strip())
    abort(403, f"your role ({current_user.role}) may not {action} here; ask an admin")
