"""The registry's token endpoint and its notification endpoint, plus HSTS under TLS."""

from __future__ import annotations

import base64
import binascii
import hmac
import os

from flask import Blueprint, Flask, jsonify, request

from bootstrap import current_runtime
from lineage.audit import audit
from notify.publish import publish_alert
from ops import metrics
from registry import integrity, signing
from registry.policy import Principal, Scope
from registry.tokenservice import ANONYMOUS, decide, identify, requested, sign

bp = Blueprint("registry_access", __name__)
HSTS = "max-age=31536000; includeSubDomains"


def init_registry_access(app: Flask) -> None:
    """Register the token and event endpoints and the HSTS header."""
    app.register_blueprint(bp)
    app.after_request(_hsts)
    app.jinja_env.globals["integrity_alerts"] = \
        lambda: integrity.recent_alerts(current_runtime().db)


def _hsts(response):
    if request.is_secure:
        response.headers.setdefault("Strict-Transport-Security", HSTS)
    return response


@bp.get("/auth/token")
def token():
    """The Docker registry token protocol: Basic credentials in, a signed JWT out."""
    runtime = current_runtime()
    registry = runtime.settings.registry
    service = request.args.get("service", registry.service)
    if service != registry.service:
        return jsonify({"error": f"this token service serves '{registry.service}', "
                                 f"not '{service}'"}), 400
    wanted = requested(request.args.getlist("scope"))
    principal = _principal(runtime)
    if principal is None:
        username = _basic()[0]
        audit(runtime.db, "registry-token", username, " ".join(map(str, wanted)),
              outcome="denied", detail="wrong username, password or token",
              asked=[str(s) for s in wanted], granted=[])
        metrics.registry_tokens.labels("denied").inc()
        response = jsonify({"errors": [{"code": "UNAUTHORIZED", "message":
                                        "wrong username, password or token"}]})
        response.headers["WWW-Authenticate"] = 'Basic realm="Lockmaster registry"'
        return response, 401
    granted = decide(principal, wanted, runtime.settings)
    outcome = _outcome(wanted, granted)
    audit(runtime.db, "registry-token", principal.name or "anonymous",
          " ".join(map(str, wanted)) or None, outcome=outcome,
          asked=[str(s) for s in wanted], granted=[str(s) for s in granted if s.actions])
    metrics.registry_tokens.labels(outcome).inc()
    key = signing.load_or_create(runtime.settings.data_dir)
    return jsonify(sign(key, principal.name or "", service, granted, registry.token_seconds))


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


def _basic() -> tuple[str, str]:
    header = request.headers.get("Authorization", "")
    if not header.startswith("Basic "):
        return "", ""
    try:
        username, _, password = base64.b64decode(header[6:]).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return "", ""
    return username, password


def _principal(runtime) -> Principal | None:
    if not request.headers.get("Authorization"):
        return ANONYMOUS
    username, password = _basic()
    return identify(runtime.db, username, password) if password else None


def _outcome(wanted: list[Scope], granted: list[Scope]) -> str:
    asked = sum(len(s.actions) for s in wanted)
    given = sum(len(s.actions) for s in granted)
    return "ok" if given == asked else ("refused" if given == 0 else "partial")
