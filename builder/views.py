"""Build control endpoints under /api/v1: cancel and retry."""

from __future__ import annotations

from flask import Blueprint, g, jsonify, request

from bootstrap import current_runtime
from builder.control import BuildConflict, BuildNotFound, cancel_build, retry_build
from builder.states import BuildStatus

bp = Blueprint("build_control", __name__, url_prefix="/api/v1")
# A caller may name who they act for; this is recorded, not trusted (the token is).
USER_HEADER = "X-Lockmaster-User"


@bp.errorhandler(BuildNotFound)
def _not_found(exc: BuildNotFound):
    return jsonify({"error": str(exc)}), 404


@bp.errorhandler(BuildConflict)
def _conflict(exc: BuildConflict):
    return jsonify({"error": str(exc)}), 409


@bp.post("/builds/<build_id>/cancel")
def cancel(build_id: str):
    """Cancel a queued build, or stop a running one on the engine (202 until it has)."""
    outcome = cancel_build(current_runtime(), build_id, _caller())
    done = outcome.status == BuildStatus.CANCELLED
    return jsonify({"id": build_id, "status": outcome.status, "cancelled_by":
                    outcome.cancelled_by, "url": f"/api/v1/builds/{build_id}"}), \
        200 if done else 202


@bp.post("/builds/<build_id>/retry")
def retry(build_id: str):
    """Queue a new build of the same commit, linked to this one."""
    new_id = retry_build(current_runtime(), build_id, _caller())
    return jsonify({"id": new_id, "status": "queued", "retry_of": build_id,
                    "url": f"/api/v1/builds/{new_id}"}), 201


def _caller() -> str:
    """Who asks: the X-Lockmaster-User header or a JSON `by` field, else the token's owner."""
    body = request.get_json(silent=True) or {}
    name = request.headers.get(USER_HEADER) or (body.get("by") if isinstance(body, dict) else None)
    user = getattr(g, "user", None)
    return str(name or (user.username if user else "anonymous"))[:255]
