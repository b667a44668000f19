"""The build-history API under /api/v1."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, request
from sqlalchemy import select

from bootstrap import current_runtime
from builder.buildlog import live_lines
from builder.follow import events, follow
from builder.states import BuildStatus
from lineage.models import Build
from lineage.serialize import build_document

bp = Blueprint("api", __name__, url_prefix="/api/v1")
MAX_LIMIT = 200


class BadRequest(Exception):
    """A query parameter that makes no sense."""


@bp.errorhandler(BadRequest)
def _bad_request(exc: BadRequest):
    return jsonify({"error": str(exc)}), 400


@bp.get("/builds")
def list_builds():
    """Builds, newest first, filtered by repository and status, with a cursor."""
    limit = _limit(request.args.get("limit", "50"))
    query = select(Build).order_by(Build.id.desc()).limit(limit + 1)
    if repository := request.args.get("repository"):
        query = query.where(Build.repository == repository)
    if status := request.args.get("status"):
        if status not in {s.value for s in BuildStatus}:
            raise BadRequest(f"unknown status '{status}'; use one of "
                             f"{', '.join(s.value for s in BuildStatus)}")
        query = query.where(Build.status == status)
    if cursor := request.args.get("cursor"):
        query = query.where(Build.id < cursor)
    with current_runtime().db.session() as session:
        builds = list(session.scalars(query))
    page, more = builds[:limit], len(builds) > limit
    return jsonify({"items": [build_document(b) for b in page],
                    "next": page[-1].id if more else None})


@bp.get("/builds/<build_id>")
def get_build(build_id: str):
    """One build with its image, checks and promotions."""
    with current_runtime().db.session() as session:
        build = session.get(Build, build_id)
        if build is None:
            return _not_found(build_id)
        return jsonify(build_document(build))


@bp.get("/builds/<build_id>/log")
def get_build_log(build_id: str):
    """The build log as plain text (live while the build runs); ?follow=1 streams it as
    text/event-stream until the build ends."""
    runtime = current_runtime()
    with runtime.db.session() as session:
        build = session.get(Build, build_id)
        if build is None:
            return _not_found(build_id)
        text = build.log
    if request.args.get("follow") in ("1", "true"):
        return Response(events(follow(runtime.redis, runtime.db, build_id)),
                        mimetype="text/event-stream", headers={"Cache-Control": "no-cache",
                                                               "X-Accel-Buffering": "no"})
    if text is None:
        lines = list(live_lines(runtime.redis, build_id))
        text = "\n".join(lines) + ("\n" if lines else "")
    return Response(text, mimetype="text/plain")


def _limit(raw: str) -> int:
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_LIMIT:
        raise BadRequest(f"limit must be a whole number from 1 to {MAX_LIMIT}")
    return int(raw)


def _not_found(build_id: str):
    return jsonify({"error": f"no build with id '{build_id}'"}), 404
