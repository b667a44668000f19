"""Secret patterns and masking: a secret is named and located, never shown (plain rules)."""

from __future__ import annotations

import re
from dataclasses import dataclass

PATTERNS: list[tuple[str, re.Pattern]] = [
    ("private key", re.compile(
        r"-----BEGIN (?:[A-Z0-9]+ )?PRIVATE KEY(?: BLOCK)?-----[\s\S]{0,16000}?-----END[ A-Z0-9]*"
        r"PRIVATE KEY(?: BLOCK)?-----")),
    ("AWS access key id", re.compile(r"\b((?:AKIA|ASIA)[0-9A-Z]{16})\b")),
    ("AWS secret access key", re.compile(
        r"(?i)aws_?secret_?access_?key[\"']?\s*[=:]\s*[\"']?([A-Za-z0-9/+=]{40})(?![A-Za-z0-9/+=])")),
    ("GitHub token", re.compile(r"\b(gh[pousr]_[A-Za-z0-9]{36,255})\b")),
    ("GitLab token", re.compile(r"\b(glpat-[A-Za-z0-9_-]{20,})")),
    ("Slack token", re.compile(r"\b(xox[abprs]-[A-Za-z0-9-]{10,})")),
    ("Google API key", re.compile(r"\b(AIza[0-9A-Za-z_-]{35})")),
    ("Stripe secret key", re.compile(r"\b([rs]k_live_[0-9a-zA-Z]{24,})")),
]
_KEY_BODY = re.compile(r"[A-Za-z0-9+/=]{16,}")


@dataclass(frozen=True)
class SecretHit:
    """One secret found in a text: what kind it is and the exact values to mask."""

    kind: str
    values: tuple[str, ...]


def find_secrets(text: str) -> list[SecretHit]:
    """Every secret in text (the values only ever go to the masker)."""
    hits = []
    for kind, pattern in PATTERNS:
        for found in pattern.finditer(text):
            if kind == "private key":
                values = tuple(_KEY_BODY.findall(found.group(0)))
            else:
                values = (found.group(1),)
            hits.append(SecretHit(kind, values))
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
