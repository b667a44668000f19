"""POST /api/v1/builds: a build asked for by hand (token scope build), through the webhook
path; the token's owner is recorded as the pusher."""

from __future__ import annotations

from flask import Blueprint, g, jsonify, request

from auth.access import api_refusal
from bootstrap import current_runtime
from webhooks.manual import trigger

bp = Blueprint("manual_builds", __name__)


@bp.post("/builds")
def create_build():
    """Queue a build of a repository at a ref or commit (deduped like a webhook push)."""
    payload = request.get_json(silent=True)
    if not isinstance(payload, dict):
        return jsonify({"error": "send a JSON object: {\"repository\": \"acme/web\", "
                                 "\"ref\": \"main\"} or {... \"sha\": \"<40 hex>\"}"}), 400
    fields = {k: payload.get(k) for k in ("repository", "ref", "sha") if k in payload}
    name = fields.get("repository")
    refusal = api_refusal("build", name, f"repository '{name}' in lockmaster.yml") \
        if isinstance(name, str) else None
    if refusal is not None:
        return jsonify({"error": refusal[1]}), refusal[0]
    outcome = trigger(current_runtime(), {**fields, "requested_by": g.user.username})
    return jsonify(outcome.body), outcome.status
