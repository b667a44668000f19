"""POST /api/v1/builds: a build asked for by hand, through the webhook path.

Not authenticated yet: API tokens come with the auth work; until then keep the web app
on a trusted network."""

from __future__ import annotations

from flask import Blueprint, jsonify, request

from bootstrap import current_runtime
from webhooks.manual import trigger

bp = Blueprint("manual_builds", __name__, url_prefix="/api/v1")


@bp.post("/builds")
def create_build():
    """Queue a build of a repository at a ref or commit (deduped like a webhook push)."""
    payload = request.get_json(silent=True)
    if not isinstance(payload, dict):
        return jsonify({"error": "send a JSON object: {\"repository\": \"acme/web\", "
                                 "\"ref\": \"main\"} or {... \"sha\": \"<40 hex>\"}"}), 400
    fields = {k: payload.get(k) for k in ("repository", "ref", "sha") if k in payload}
    outcome = trigger(current_runtime(), {**fields, "requested_by": "api"})
    return jsonify(outcome.body), outcome.status
