"""What every /api/v1 request goes through: the token check and problem+json errors."""

from __future__ import annotations

import json
from http import HTTPStatus

from flask import Flask, Response, request
from werkzeug.exceptions import HTTPException

from auth.tokens import TokenRefused, bearer_user
from bootstrap import current_runtime

PREFIX = "/api/v1/"
PUBLIC = {"/api/v1/openapi.json", "/api/v1/signing-keys"}  # public keys are public
PROBLEM = "application/problem+json"
# Writes need scope `build`, except deciding on a digest, which needs `approve`.
WRITE_SCOPES = {"promotion_api.post_approval": "approve"}


def init_api_guard(app: Flask) -> None:
    """Guard /api/v1: reads need scope `read` (unless api.anonymous_read), writes `build`
    (approvals `approve`); each view then checks the caller's repository scope."""
    app.before_request(_refuse_nul)
    app.before_request(_check_token)
    app.after_request(_as_problem)
    app.register_error_handler(HTTPException, _http_error)


def problem(status: int, detail: str, title: str | None = None) -> Response:
    """An RFC 9457 problem document (with `error` too, the older contract's member)."""
    body = {"type": "about:blank", "title": title or _title(status), "status": status,
            "detail": detail, "error": detail}
    return Response(json.dumps(body), status=status, mimetype=PROBLEM)


def _refuse_nul():
    """A NUL character is never a valid name, id or filter (and PostgreSQL refuses it)."""
    if not request.path.startswith(PREFIX):
        return None
    values = [request.path] + [part for key, items in request.args.lists()
                               for part in (key, *items)]
    if any("\x00" in value for value in values):
        return problem(400, "the path or a query parameter holds a NUL character; remove it")
    return None


def _check_token():
    if not request.path.startswith(PREFIX) or request.path in PUBLIC:
        return None
    reading = request.method in ("GET", "HEAD", "OPTIONS")
    if reading and current_runtime().settings.anonymous_read:
        return None
    try:
        bearer_user("read" if reading else WRITE_SCOPES.get(request.endpoint, "build"))
    except TokenRefused as exc:
        return problem(exc.status, str(exc))
    return None


def _as_problem(response: Response) -> Response:
    """Turn the API's `{"error": ...}` answers into problem documents."""
    if not request.path.startswith(PREFIX) or response.status_code < 400 \
            or response.mimetype != "application/json":
        return response
    body = response.get_json(silent=True)
    if not isinstance(body, dict) or "error" not in body or "type" in body:
        return response
    return problem(response.status_code, str(body["error"]))


def _http_error(exc: HTTPException):
    if not request.path.startswith(PREFIX):
        return exc
    return problem(exc.code or 500, exc.description or exc.name, exc.name)


def _title(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"
