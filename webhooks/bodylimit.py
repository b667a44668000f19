"""Reading a request body in chunks, stopping with 413 as soon as it passes the limit."""

from __future__ import annotations

from flask import Request
from werkzeug.exceptions import RequestEntityTooLarge

CHUNK = 64 * 1024


def read_body(request: Request, limit: int) -> bytes:
    """The raw body, never holding more than limit + one chunk in memory (chunked or not)."""
    if request.content_length is not None and request.content_length > limit:
        raise RequestEntityTooLarge()
    chunks, size = [], 0
    while chunk := request.stream.read(CHUNK):
        size += len(chunk)
        if size > limit:
            raise RequestEntityTooLarge()
        chunks.append(chunk)
    return b"".join(chunks)
