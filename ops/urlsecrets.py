"""Credentials in URLs (`user:password@`, a webhook's secret path), masked wherever a URL or
an error quoting one is shown: clone URLs, notification URLs, build logs."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

# An installation's own values shorter than this would mask ordinary words of the log.
MIN_SECRET_CHARS = 8
_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/\s@'\"]+@")
# Webhook URLs whose path is itself the credential (Slack, Discord, Teams, Google Chat…).
_SECRET_PATHS = re.compile(
    r"(?i)(hooks\.slack\.com/(?:services|workflows|triggers)/|/api/webhooks/|/webhookb2/|"
    r"[?&](?:key|token|sig|signature|access_token)=)[^\s'\"<>]+")


def without_credentials(text: str) -> str:
    """text with the `user:password@` part of every URL and every webhook's secret path
    masked (clone URLs, notification URLs, errors that quote them)."""
    text = _USERINFO.sub(r"\1***@", text)
    return _SECRET_PATHS.sub(r"\1***", text)


def url_secrets(url: str) -> set[str]:
    """The parts of a URL that are secrets (its password, its secret path), to mask wherever
    a library quotes them (e.g. `url: /services/T0/B0/XXXX` in a connection error)."""
    parts, found = urlsplit(url), set()
    if parts.password:
        found.add(parts.password)
    if _SECRET_PATHS.search(url) and len(parts.path) >= MIN_SECRET_CHARS:
        found.add(parts.path + (f"?{parts.query}" if parts.query else ""))
    return found
