"""Delivering one notification: signed POST, retried with backoff, every attempt recorded."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import time

import requests

from bootstrap import current_runtime
from ops.urlsecrets import url_secrets, without_credentials
from record.models import utcnow
from record.notifications import Notification
from states import NotificationStatus

log = logging.getLogger(__name__)


def deliver(notification_id: int) -> str:
    """POST the notification until it is accepted (2xx) or its attempts run out."""
    runtime = current_runtime()
    runtime.after_fork()
    with runtime.db.session() as session:
        row = session.get(Notification, notification_id)
        if row is None or row.status != NotificationStatus.PENDING:
            return row.status if row else "missing"
        body = json.dumps(row.body).encode()
        headers = _headers(row, body)
        url, attempts, backoff = row.url, row.max_attempts - row.attempts, row.backoff_seconds
    for attempt in range(attempts):
        if attempt:
            time.sleep(backoff * 2 ** (attempt - 1))
        status, error = _post(url, body, headers)
        outcome = NotificationStatus.DELIVERED if status and 200 <= status < 300 else None
        if outcome is None and attempt == attempts - 1:
            outcome = NotificationStatus.FAILED
        _record(runtime, notification_id, status, error, outcome)
        if outcome:
            return outcome
    return "failed"


def _headers(row: Notification, body: bytes) -> dict[str, str]:
    headers = {"Content-Type": "application/json", "User-Agent": "Lockmaster-Notifier",
               "X-Lockmaster-Event": row.event, "X-Lockmaster-Delivery": str(row.id)}
    secret = os.environ.get(row.secret_env) if row.secret_env else None
    if secret:
        headers["X-Lockmaster-Signature-256"] = "sha256=" + hmac.new(
            secret.encode(), body, hashlib.sha256).hexdigest()
    return headers


def _post(url: str, body: bytes, headers: dict[str, str]) -> tuple[int | None, str | None]:
    try:
        response = requests.post(url, data=body, headers=headers, timeout=10,
                                 allow_redirects=False)
    except requests.RequestException as exc:
        return None, masked_error(f"{type(exc).__name__}: {exc}", url)
    if 200 <= response.status_code < 300:
        return response.status_code, None
    return response.status_code, f"answered {response.status_code}: {response.text[:200]}"


def masked_error(error: str, url: str) -> str:
    """An error as stored and shown: the URL's credentials and secret path masked, also where
    the library quotes only the path (`Max retries exceeded with url: /services/…`)."""
    for secret in url_secrets(url):
        error = error.replace(secret, "***")
    return without_credentials(error)


def _record(runtime, notification_id: int, status: int | None, error: str | None,
            outcome: str | None) -> None:
    with runtime.db.session() as session:
        row = session.get(Notification, notification_id)
        row.attempts += 1
        row.last_status_code, row.last_error = status, error
        if outcome:
            row.status = outcome
            row.delivered_at = utcnow() if outcome == NotificationStatus.DELIVERED else None
    log.info("notification %s attempt: %s", notification_id, outcome or error)
