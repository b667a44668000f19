"""Secret patterns and masking: a secret is named and located, never shown (plain rules)."""

from __future__ import annotations

import base64

from builder.checks.secretshapes import PATTERNS, SecretHit, find_secrets

__all__ = ["PATTERNS", "SecretHit", "find_secrets", "find_values", "mask", "redact",
           "redact_all"]



def find_values(content: bytes | str, named: dict[str, str]) -> list[SecretHit]:
    """The build secrets (id → value) whose value is in the content verbatim or base64."""
    data = content.encode() if isinstance(content, str) else content
    hits = []
    for secret_id, value in named.items():
        encoded = base64.b64encode(value.encode()).rstrip(b"=")
        if value and (value.encode() in data or encoded in data):
            hits.append(SecretHit(f"build secret '{secret_id}'",
                                  (value, encoded.decode())))
    return hits


def mask(value: str) -> str:
    """What is shown in place of a secret: its first characters and its length."""
    shown = value[:4] if len(value) >= 16 else ""
    return f"{shown}***[masked, {len(value)} chars]"


def redact(text: str, secrets: set[str]) -> str:
    """text with every known secret value replaced by its mask."""
    for value in sorted(secrets, key=len, reverse=True):
        if value and value in text:
            text = text.replace(value, mask(value))
    return text


def redact_all(value, secrets: set[str]):
    """A JSON-like value with every secret masked in every string it holds."""
    if not secrets:
        return value
    if isinstance(value, str):
        return redact(value, secrets)
    if isinstance(value, dict):
        return {redact_all(k, secrets): redact_all(v, secrets) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact_all(v, secrets) for v in value]
    return value
