"""The one /api/v1 blueprint: each feature's endpoints nested in it, one token guard and one
problem+json error shape for all of them (and for paths and methods no feature serves)."""

from __future__ import annotations

import re
from urllib.parse import quote

from flask import Blueprint, Response, current_app, request
from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound
from werkzeug.routing import PathConverter, RequestRedirect

from auth.tokens import TokenRefused, bearer_user
from bootstrap import current_runtime
from builder.views import bp as build_control_bp
from history.api import bp as history_bp
from history.checks_api import bp as checks_bp
from history.keys_api import bp as signing_keys_bp
from ops.problems import problem
from promotion.api import bp as promotion_bp
from webhooks.api import bp as manual_builds_bp

bp = Blueprint("api", __name__, url_prefix="/api/v1")
for _feature in (history_bp, checks_bp, signing_keys_bp, promotion_bp, manual_builds_bp,
                 build_control_bp):
    bp.register_blueprint(_feature)

PUBLIC = {f"{bp.url_prefix}/openapi.json", f"{bp.url_prefix}/signing-keys"}  # any method
# Writes need scope `build`, except deciding on a digest, which needs `approve`.
WRITE_SCOPES = {"api.promotion.post_approval": "approve"}
UNROUTED = "api.unrouted"
METHODS = ("GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS")


class _Rest(PathConverter):
    """The rest of a path under /api/v1/, empty or not (`path` needs one character)."""

    regex = r"[\s\S]*"  # any character, a newline too (`.` stops at one)
    part_isolating = False


@bp.record_once
def _add_converter(state) -> None:
    state.app.url_map.converters["api_rest"] = _Rest


@bp.before_request
def refuse_nul():
    """A NUL character is never a valid name, id or filter (and PostgreSQL refuses it)."""
    values = [request.path] + [part for key, items in request.args.lists()
                               for part in (key, *items)]
    if any("\x00" in value for value in values):
        return problem(400, "the path or a query parameter holds a NUL character; remove it")
    return None


@bp.before_request
def check_token():
    """Reads need scope `read` (unless api.anonymous_read), writes `build` (approvals
    `approve`); each view then checks the caller's repository scope."""
    if request.path in PUBLIC:
        return None
    reading = request.method in ("GET", "HEAD", "OPTIONS")
    if reading and current_runtime().settings.anonymous_read:
        return None
    try:
        bearer_user("read" if reading else WRITE_SCOPES.get(request.endpoint, "build"))
    except TokenRefused as exc:
        return problem(exc.status, str(exc))
    return None


@bp.after_request
def as_problem(response: Response) -> Response:
    """Turn the features' `{"error": ...}` answers into problem documents."""
    if response.status_code < 400 or response.mimetype != "application/json":
        return response
    body = response.get_json(silent=True)
    if not isinstance(body, dict) or "error" not in body or "type" in body:
        return response
    return problem(response.status_code, str(body["error"]))


@bp.after_request
def allow_served_methods(response: Response) -> Response:
    """An automatic OPTIONS answer names the methods the features serve at this path, not
    the catch-all's (which serves them all, to answer them with problems)."""
    if request.method == "OPTIONS" and "Allow" in response.headers \
            and request.endpoint != UNROUTED:
        response.headers["Allow"] = ", ".join(_served_methods())
    return response


@bp.errorhandler(HTTPException)
def http_error(exc: HTTPException):
    """Every HTTP error of the API as a problem document."""
    return problem(exc.code or 500, exc.description or exc.name, exc.name)


@bp.route("/<api_rest:rest>", endpoint="unrouted", methods=METHODS, provide_automatic_options=False)
def unrouted(rest: str):
    """No feature serves this path with this method: 405 when one serves it with another,
    else 404 (a routing error never reaches a blueprint's handlers, this view does)."""
    merged = re.sub("//+", "/", request.path)
    if merged != request.path and request.method in _served_methods(merged):
        query = request.query_string.decode("latin-1")
        raise RequestRedirect(request.root_url.rstrip("/") + quote(merged)
                              + (f"?{query}" if query else ""))  # as routing would
    if _served_methods(merged):
        raise MethodNotAllowed()
    raise NotFound()


def _served_methods(path: str | None = None) -> list[str]:
    """The methods a feature's route serves at path (the request's by default)."""
    adapter = current_app.create_url_adapter(request)
    served = []
    for method in METHODS:
        try:
            endpoint, _args = adapter.match(path, method=method)
        except HTTPException:
            continue
        if endpoint != UNROUTED:
            served.append(method)
    return served
