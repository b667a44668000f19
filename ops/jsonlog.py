"""JSON log lines that carry the request id or the build id, with secrets masked."""

from __future__ import annotations

import json
import logging
import re
import time
import uuid
from contextvars import ContextVar

from flask import Flask, g, has_request_context, request

build_id_var: ContextVar[str | None] = ContextVar("build_id", default=None)
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
_SECRET_PATTERNS = [
    re.compile(r"(?i)(authorization:\s*(?:bearer|basic)\s+)\S+"),
    re.compile(r"(?i)((?:password|secret|token)=)[^\s&]+"),
    re.compile(r"(sha256=)[0-9a-fA-F]{64}"),
]


def mask(text: str) -> str:
    """Replace credentials that may appear in a log message with ***."""
    for pattern in _SECRET_PATTERNS:
        text = pattern.sub(r"\1***", text)
    return text


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message and the current ids."""

    def format(self, record: logging.LogRecord) -> str:
        """Render the record as a JSON line."""
        line = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": mask(record.getMessage()),
        }
        if has_request_context() and "request_id" in g:
            line["request_id"] = g.request_id
        build_id = getattr(record, "build_id", None) or build_id_var.get()
        if build_id:
            line["build_id"] = build_id
        for key in ("method", "path", "status", "duration_ms"):
            if hasattr(record, key):
                line[key] = getattr(record, key)
        if record.exc_info:
            line["exception"] = mask(self.formatException(record.exc_info))
        return json.dumps(line, ensure_ascii=False)


def configure(level: str = "INFO") -> None:
    """Send every logger's records to stderr as JSON lines."""
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)


def init_app(app: Flask) -> None:
    """Give every request an id (X-Request-ID, kept if the caller sent a sane one) and log it."""
    access = logging.getLogger("lockmaster.access")

    @app.before_request
    def _start() -> None:
        sent = request.headers.get("X-Request-ID", "")
        g.request_id = sent if _REQUEST_ID.match(sent) else uuid.uuid4().hex
        g.started = time.perf_counter()

    @app.after_request
    def _finish(response):
        if "request_id" not in g:  # a hook before ours answered the request
            g.request_id, g.started = uuid.uuid4().hex, time.perf_counter()
        response.headers["X-Request-ID"] = g.request_id
        elapsed = round((time.perf_counter() - g.started) * 1000, 2)
        access.info("%s %s %s", request.method, request.path, response.status_code,
                    extra={"method": request.method, "path": request.path,
                           "status": response.status_code, "duration_ms": elapsed})
        return response
