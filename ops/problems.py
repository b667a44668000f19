"""RFC 9457 problem documents, the error shape of /api/v1."""

from __future__ import annotations

import json
from http import HTTPStatus

from flask import Response

PROBLEM = "application/problem+json"


def problem(status: int, detail: str, title: str | None = None) -> Response:
    """An RFC 9457 problem document (with `error` too, the older contract's member)."""
    body = {"type": "about:blank", "title": title or status_title(status), "status": status,
            "detail": detail, "error": detail}
    return Response(json.dumps(body), status=status, mimetype=PROBLEM)


def status_title(status: int) -> str:
    """The standard phrase of an HTTP status ("Error" for a code without one)."""
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"
