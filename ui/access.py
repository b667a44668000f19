"""The logged-in user's rights in the UI (templates show buttons by it; views enforce it)."""

from __future__ import annotations

from flask import abort, request
from flask_login import current_user

from auth.permissions import role_may
from bootstrap import current_runtime
from lineage.audit import audit


def allowed(action: str, repository: str | None = None) -> bool:
    """True if the current user may do action on repository."""
    if not current_user.is_authenticated:
        return False
    repo = current_runtime().settings.repository_named(repository) if repository else None
    return role_may(current_user.role, list(current_user.repositories or []), action,
                    repository, repo.team if repo else None)


def require(action: str, repository: str | None = None) -> None:
    """Stop with 403 (and an audit record) unless the current user may do action."""
    if allowed(action, repository):
        return
    audit(current_runtime().db, action, current_user.username, request.path,
          outcome="refused", detail=f"role {current_user.role} may not {action} "
                                    f"{repository or ''}".strip())
    abort(403, f"your role ({current_user.role}) may not {action} here; ask an admin")
