"""The webhook endpoints: read the body within the limit, then hand it to admit()."""

from __future__ import annotations

import json

from flask import Blueprint, Response, jsonify, request

from bootstrap import current_runtime
from webhooks.admit import PROVIDERS, admit
from webhooks.bodylimit import read_body

bp = Blueprint("webhooks", __name__, url_prefix="/webhooks")


@bp.post("/<provider_name>")
def receive_delivery(provider_name: str):
    """Take one delivery from a Git host."""
    provider = PROVIDERS.get(provider_name)
    if provider is None:
        return jsonify({"error": f"no webhook endpoint for '{provider_name}'; use one of "
                                 f"/webhooks/{', /webhooks/'.join(PROVIDERS)}"}), 404
    runtime = current_runtime()
    body = read_body(request, runtime.settings.max_webhook_bytes)
    outcome = admit(runtime, provider, request.headers, body)
    # json.dumps straight away: Flask's JSON provider costs more than the answer is worth.
    return Response(json.dumps(outcome.body, separators=(",", ":")), outcome.status,
                    mimetype="application/json")
