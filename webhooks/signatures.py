"""Webhook authenticity checks over the raw body (plain domain code)."""

from __future__ import annotations

import hashlib
import hmac
import re

_HEX64 = re.compile(r"^[0-9a-f]{64}$")


def hmac_sha256_hex(secret: str, body: bytes) -> str:
    """Hex HMAC-SHA256 of body under secret."""
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify_prefixed_sha256(secret: str, body: bytes, header: str | None) -> bool:
    """Check a `sha256=<hex>` signature header (GitHub, Bitbucket) in constant time."""
    if not header or not header.startswith("sha256="):
        return False
    return verify_hex_sha256(secret, body, header[len("sha256="):])


def verify_hex_sha256(secret: str, body: bytes, signature: str | None) -> bool:
    """Check a bare hex HMAC-SHA256 signature in constant time."""
    if not signature or not _HEX64.match(signature.lower()):
        return False
    return hmac.compare_digest(hmac_sha256_hex(secret, body), signature.lower())
