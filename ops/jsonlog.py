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
    if "=" not in text and ":" not in text:  # every pattern needs one of them
        return text
    for pattern in _SECRET_PATTERNS:
        text = pattern.sub(r"\1***", text)
    return text


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message and the current ids."""

    _second: tuple[int, str] = (-1, "")

    def format(self, record: logging.LogRecord) -> str:
        """Render the record as a JSON line."""
        line = {
            "ts": f"{self._timestamp(record.created)}.{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": mask(record.getMessage()),
        }
        request_id = getattr(record, "request_id", None)
        if request_id is None and has_request_context():
            request_id = g.get("request_id")
        if request_id:
            line["request_id"] = request_id
        build_id = getattr(record, "build_id", None) or build_id_var.get()
        if build_id:
            line["build_id"] = build_id
        for key in ("method", "path", "status", "duration_ms"):
            if hasattr(record, key):
                line[key] = getattr(record, key)
        if record.exc_info:
            line["exception"] = mask(self.formatException(record.exc_info))
        return json.dumps(line, ensure_ascii=False)

    def _timestamp(self, created: float) -> str:
        """The record's second in ISO form (made once per second: every request logs a line)."""
        second = int(created)
        if self._second[0] != second:
            self._second = (second, time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second)))
        return self._second[1]


def configure(level: str = "INFO") -> None:
    """Send every logger's records to stderr as JSON lines."""
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)
    skip_unused_record_fields()


def skip_unused_record_fields() -> None:
    """The JSON lines carry no thread or process names: tell logging not to look them up for
    each record (the module's documented switches; every request writes an access line)."""
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False


def request_id(sent: str) -> str:
    """The id of a request: the caller's X-Request-ID if it is a sane one, else a new one."""
    return sent if _REQUEST_ID.match(sent) else uuid.uuid4().hex


def init_app(app: Flask) -> None:
    """Give every request an id (X-Request-ID, kept if the caller sent a sane one) and log it."""
    access = logging.getLogger("lockmaster.access")

    @app.before_request
    def _start() -> None:
        context = g._get_current_object()
        context.request_id = request_id(request.headers.get("X-Request-ID", ""))
        context.started = time.perf_counter()

    @app.after_request
    def _finish(response):
        context = g._get_current_object()
        request_id = context.get("request_id")
        if request_id is None:  # a hook before ours answered the request
            request_id = context.request_id = uuid.uuid4().hex
            context.started = time.perf_counter()
        response.headers["X-Request-ID"] = request_id
        if access.isEnabledFor(logging.INFO):
            elapsed = round((time.perf_counter() - context.started) * 1000, 2)
            method, path, status = request.method, request.path, response.status_code
            access.info("%s %s %s", method, path, status,
                        extra={"method": method, "path": path, "status": status,
                               "duration_ms": elapsed, "request_id": request_id})
        return response
