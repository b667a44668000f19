"""The registry's token endpoint and its notification endpoint (registry/web.py adds them to
the app)."""

from __future__ import annotations

import hmac
import os
import time
from functools import lru_cache

from flask import Blueprint, current_app, jsonify, request

from bootstrap import current_runtime
from config.clientaddress import client_address, networks
from notify.publish import publish_alert
from ops import metrics
from registry import integrity, tokenfallback

bp = Blueprint("registry_access", __name__)
HSTS = "max-age=31536000; includeSubDomains"


@bp.get("/auth/token")
def token():
    """The Docker registry token protocol: Basic credentials in, a signed JWT out (GET is
    answered by registry.tokenwsgi before Flask reaches here; this view answers HEAD)."""
    started = time.perf_counter()
    runtime = current_runtime()
    address = client_address(request.remote_addr, request.headers.get("X-Forwarded-For"),
                             trusted_networks(runtime.settings.trusted_proxies))
    scopes, authorization = request.args.getlist("scope"), request.headers.get("Authorization")
    service = request.args.get("service", runtime.settings.registry.service)
    answer = tokenfallback.answer(runtime, current_app.secret_key.encode(), scopes, service,
                                  authorization, address)
    metrics.registry_tokens.labels(answer.outcome).inc()
    response = jsonify(answer.body)
    response.headers.update(answer.headers)
    metrics.registry_token_seconds.observe(time.perf_counter() - started)
    return response, answer.status


@lru_cache(maxsize=4)
def trusted_networks(proxies: tuple[str, ...]) -> tuple:
    """web.trusted_proxies parsed once: whose X-Forwarded-For is believed."""
    return networks(proxies)


@bp.post("/registry/events")
def events():
    """The registry's notifications: recorded once per event id, checked for integrity."""
    runtime = current_runtime()
    env = runtime.settings.registry.events_secret_env
    secret = os.environ.get(env, "") if env else ""
    if not secret:
        return jsonify({"error": "registry notifications are off: set registry."
                                 "events_secret_env and that environment variable"}), 404
    given = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
    if not hmac.compare_digest(given.encode(), secret.encode()):
        return jsonify({"error": "wrong or missing 'Authorization: Bearer <secret>'"}), 401
    envelope = request.get_json(force=True, silent=True)
    if not isinstance(envelope, dict):
        return jsonify({"error": "the body must be a registry notification envelope "
                                 "({\"events\": [...]})"}), 400
    recorded, alerts = integrity.ingest(
        runtime.db, runtime.settings, envelope,
        on_alert=lambda row_id, alert: publish_alert(runtime, row_id, alert))
    return jsonify({"recorded": recorded, "alerts": alerts})
