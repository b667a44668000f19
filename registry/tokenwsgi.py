"""GET /auth/token answered before Flask: every pull of a token-auth registry asks here first,
and Flask's request context, session, login and API hooks (none of which applies to a token
request) cost as much CPU as the token itself. The answer is the view's: the same
`tokenrequest.answer`, the same headers (X-Request-ID, the security headers, HSTS over TLS), the
same metrics and the same access line for everything but a full grant: grants are counted in
`lockmaster_registry_tokens_total` and audited per account, scope and minute, not line by
line."""

from __future__ import annotations

import json
import logging
import time
from http import HTTPStatus
from urllib.parse import parse_qsl

from flask import Flask

from config.clientaddress import client_address
from ops import headers, metrics
from ops.jsonlog import request_id as request_id_of
from registry import tokenfallback, tokenrequest
from registry.views import HSTS, trusted_networks

PATH = "/auth/token"
log = logging.getLogger("registry.views")
access = logging.getLogger("lockmaster.access")


class TokenEndpoint:
    """WSGI middleware: GET /auth/token here, everything else (HEAD too) to the Flask app."""

    def __init__(self, app: Flask, wrapped) -> None:
        self.app, self.wrapped = app, wrapped
        self._security = list(headers.HEADERS.items())

    def __call__(self, environ: dict, start_response):
        if environ.get("PATH_INFO") != PATH or environ.get("REQUEST_METHOD") != "GET":
            return self.wrapped(environ, start_response)
        started = time.perf_counter()
        request_id = request_id_of(environ.get("HTTP_X_REQUEST_ID", ""))
        try:
            answer = self._answer(environ, request_id)
        except Exception:
            log.exception("the token request failed", extra={"request_id": request_id})
            answer = tokenrequest.Answer(500, {"error": "internal error; see the web log"},
                                         outcome="error")
        metrics.registry_tokens.labels(answer.outcome).inc()
        body = (json.dumps(answer.body, separators=(",", ":")) + "\n").encode()
        response_headers = [("Content-Type", "application/json"),
                            ("Content-Length", str(len(body))), *answer.headers.items(),
                            ("X-Request-ID", request_id), *self._security]
        if environ.get("wsgi.url_scheme") == "https":
            response_headers.append(("Strict-Transport-Security", HSTS))
        start_response(f"{answer.status} {HTTPStatus(answer.status).phrase}", response_headers)
        elapsed = time.perf_counter() - started
        metrics.registry_token_seconds.observe(elapsed)
        if answer.outcome != "ok" and access.isEnabledFor(logging.INFO):
            access.info("GET %s %s", PATH, answer.status,
                        extra={"method": "GET", "path": PATH, "status": answer.status,
                               "duration_ms": round(elapsed * 1000, 2),
                               "request_id": request_id})
        return [body]

    def _answer(self, environ: dict, request_id: str) -> tokenrequest.Answer:
        runtime = self.app.extensions["lockmaster"]
        address = client_address(environ.get("REMOTE_ADDR"),
                                 environ.get("HTTP_X_FORWARDED_FOR"),
                                 trusted_networks(runtime.settings.trusted_proxies))
        query = parse_qsl(environ.get("QUERY_STRING", ""), keep_blank_values=True)
        scopes = [value for key, value in query if key == "scope"]
        service = next((value for key, value in query if key == "service"),
                       runtime.settings.registry.service)
        return tokenfallback.answer(runtime, self.app.secret_key.encode(), scopes, service,
                                    environ.get("HTTP_AUTHORIZATION"), address, request_id)
