"""Secret patterns and masking: a secret is named and located, never shown (plain rules)."""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass

# (kind, literal texts one of which must be present, pattern): the cheap `in` test first
# keeps a scan of a large image to one pass of memchr per literal instead of a regex per kind.
PATTERNS: list[tuple[str, tuple[bytes, ...], re.Pattern]] = [
    ("private key", (b"PRIVATE KEY",), re.compile(
        rb"-----BEGIN (?:[A-Z0-9]+ )?PRIVATE KEY(?: BLOCK)?-----[\s\S]{0,16000}?"
        rb"-----END[ A-Z0-9]*PRIVATE KEY(?: BLOCK)?-----")),
    ("AWS access key id", (b"AKIA", b"ASIA"), re.compile(rb"\b((?:AKIA|ASIA)[0-9A-Z]{16})\b")),
    ("AWS secret access key", (b"ecret", b"ECRET"), re.compile(
        rb"(?i)aws_?secret_?access_?key[\"']?\s*[=:]\s*[\"']?([A-Za-z0-9/+=]{40})"
        rb"(?![A-Za-z0-9/+=])")),
    ("GitHub token", (b"ghp_", b"gho_", b"ghu_", b"ghs_", b"ghr_"),
     re.compile(rb"\b(gh[pousr]_[A-Za-z0-9]{36,255})\b")),
    ("GitLab token", (b"glpat-",), re.compile(rb"\b(glpat-[A-Za-z0-9_-]{20,})")),
    ("Slack token", (b"xoxa-", b"xoxb-", b"xoxp-", b"xoxr-", b"xoxs-"),
     re.compile(rb"\b(xox[abprs]-[A-Za-z0-9-]{10,})")),
    ("Google API key", (b"AIza",), re.compile(rb"\b(AIza[0-9A-Za-z_-]{35})")),
    ("Stripe secret key", (b"_live_",), re.compile(rb"\b([rs]k_live_[0-9a-zA-Z]{24,})")),
]
_KEY_BODY = re.compile(rb"[A-Za-z0-9+/=]{16,}")


@dataclass(frozen=True)
class SecretHit:
    """One secret found in a text: what kind it is and the exact values to mask."""

    kind: str
    values: tuple[str, ...]


def find_secrets(content: bytes | str) -> list[SecretHit]:
    """Every secret in a file's bytes or a text (the values only ever go to the masker)."""
    data = content.encode() if isinstance(content, str) else content
    hits = []
    for kind, literals, pattern in PATTERNS:
        if not any(literal in data for literal in literals):
            continue
        for found in pattern.finditer(data):
            raw = _KEY_BODY.findall(found.group(0)) if kind == "private key" else [found.group(1)]
            hits.append(SecretHit(kind, tuple(v.decode("ascii", "replace") for v in raw)))
    return hits


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
