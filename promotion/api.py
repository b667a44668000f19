"""Promotion endpoints of /api/v1: approvals by token, environments with their history."""

from __future__ import annotations

from flask import Blueprint, g, jsonify, request
from sqlalchemy import select

from auth.access import api_readable, api_refusal
from auth.tokens import require_token
from bootstrap import current_runtime
from promotion.decisions import decide
from promotion.facts import NotFound
from promotion.policy import Refused
from record import environments
from record.documents import iso, promotion_document
from record.models import Build
from states import BuildStatus

bp = Blueprint("promotion", __name__)
HISTORY_LIMIT = 100  # the newest promotions an environment's timeline shows


@bp.post("/builds/<build_id>/approvals")
@require_token("approve")
def post_approval(build_id: str):
    """Approve or reject a build's digest as the token's owner, under the form's policy."""
    with current_runtime().db.session() as session:
        repository = session.scalar(select(Build.repository).where(Build.id == build_id))
    refusal = api_refusal("approve", repository or "", f"build with id '{build_id}'")
    if repository is None or refusal is not None:
        status, message = refusal or (404, f"no build with id '{build_id}'")
        return jsonify({"error": message}), status
    body = request.get_json(silent=True)
    if not isinstance(body, dict) or not isinstance(body.get("decision"), str):
        return jsonify({"error": "send JSON with 'decision' (approve or reject), optional "
                                 "'comment' and 'digest'"}), 400
    runtime = current_runtime()
    digest = body.get("digest") or _current_digest(build_id)
    try:
        decided = decide(runtime, build_id, g.user.username, body["decision"], digest or "",
                         str(body.get("comment") or ""), via="api")
    except NotFound as exc:
        return jsonify({"error": str(exc)}), 404
    except Refused as exc:
        return jsonify({"error": str(exc)}), 403
    return jsonify({"promotion_id": decided.promotion_id, "status": decided.status,
                    "approvals": decided.approvals, "needed": decided.needed,
                    "self_approval": decided.self_approval}), 201


@bp.get("/environments/<environment>/<path:image>")
def get_environment(environment: str, image: str):
    """The digest an environment serves for an image now, and its history."""
    settings = current_runtime().settings
    readable = api_readable()
    known = {env for repo in settings.repositories if repo.image == image
             and (readable is None or repo.name in readable)
             for env in repo.promotion.environments}
    if environment not in known:
        return jsonify({"error": f"no environment '{environment}' for image '{image}'; "
                                 f"known: {', '.join(sorted(known)) or 'none'}"}), 404
    with current_runtime().db.session() as session:
        if environment == "staging":
            return jsonify(_staging(session, settings, image))
        past = environments.history(session, image, environment, limit=HISTORY_LIMIT)
        history = [promotion_document(p) for p in past]
    now = history[0] if history else None
    return jsonify({"environment": environment, "image": image,
                    "repository": settings.registry.repository(environment, image),
                    "digest": now["digest"] if now else None,
                    "build_id": now["build_id"] if now else None,
                    "since": now["finished_at"] if now else None, "history": history})


def _staging(session, settings, image: str) -> dict:
    repository = settings.registry.repository("staging", image)
    builds = list(session.scalars(select(Build).where(
        Build.image_repository == repository, Build.status == BuildStatus.STAGED)
        .order_by(Build.id.desc()).limit(50)))
    history = [{"build_id": b.id, "digest": b.digest, "tags": b.tags,
                "finished_at": iso(b.finished_at)} for b in builds]
    now = history[0] if history else None
    return {"environment": "staging", "image": image, "repository": repository,
            "digest": now["digest"] if now else None,
            "build_id": now["build_id"] if now else None,
            "since": now["finished_at"] if now else None, "history": history}


def _current_digest(build_id: str) -> str | None:
    with current_runtime().db.session() as session:
        build = session.get(Build, build_id)
        return build.digest if build else None
