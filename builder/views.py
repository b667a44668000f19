"""Build control endpoints under /api/v1: cancel and retry."""

from __future__ import annotations

from flask import Blueprint, g, jsonify
from sqlalchemy import select

from auth.access import api_refusal
from bootstrap import current_runtime
from builder.control import BuildConflict, BuildNotFound, cancel_build, retry_build
from record.models import Build
from states import BuildStatus

bp = Blueprint("build_control", __name__)


@bp.errorhandler(BuildNotFound)
def _not_found(exc: BuildNotFound):
    return jsonify({"error": str(exc)}), 404


@bp.errorhandler(BuildConflict)
def _conflict(exc: BuildConflict):
    return jsonify({"error": str(exc)}), 409


@bp.post("/builds/<build_id>/cancel")
def cancel(build_id: str):
    """Cancel a queued build, or stop a running one on the engine (202 until it has)."""
    _check("cancel", build_id)
    outcome = cancel_build(current_runtime(), build_id, _caller())
    done = outcome.status == BuildStatus.CANCELLED
    return jsonify({"id": build_id, "status": outcome.status, "cancelled_by":
                    outcome.cancelled_by, "url": f"/api/v1/builds/{build_id}"}), \
        200 if done else 202


@bp.post("/builds/<build_id>/retry")
def retry(build_id: str):
    """Queue a new build of the same commit, linked to this one."""
    _check("retry", build_id)
    new_id = retry_build(current_runtime(), build_id, _caller())
    return jsonify({"id": new_id, "status": BuildStatus.QUEUED, "retry_of": build_id,
                    "url": f"/api/v1/builds/{new_id}"}), 201


class _Refused(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


@bp.errorhandler(_Refused)
def _refused(exc: _Refused):
    return jsonify({"error": str(exc)}), exc.status


def _check(action: str, build_id: str) -> None:
    """BuildNotFound, or _Refused unless the caller may do action on the build's repository."""
    with current_runtime().db.session() as session:
        repository = session.scalar(select(Build.repository).where(Build.id == build_id))
    if repository is None:
        raise BuildNotFound(f"no build with id '{build_id}'")
    refusal = api_refusal(action, repository, f"build with id '{build_id}'")
    if refusal is not None:
        raise _Refused(*refusal)


def _caller() -> str:
    """Who asks: the token's owner (a header or a `by` field cannot say otherwise)."""
    return g.user.username[:255]
