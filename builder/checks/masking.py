"""Secret patterns and masking: a secret is named and located, never shown (plain rules)."""

from __future__ import annotations

import base64
from functools import lru_cache

from builder.checks.secretshapes import PATTERNS, SecretHit, find_secrets

__all__ = ["PATTERNS", "SecretHit", "find_secrets", "find_values", "mask", "redact",
           "redact_all"]



# A run of base64 shorter than this, taken from the middle of an encoding, matches by chance
# (8 characters: one chance in 2.8e14 per position; a value of 6 bytes or more has such a run
# at every offset).
MIN_ENCODED_CHARS = 8
_URL_SAFE = bytes.maketrans(b"+/", b"-_")


def find_values(content: bytes | str, named: dict[str, str]) -> list[SecretHit]:
    """The build secrets (id → value) whose value is in the content verbatim or base64, the
    encoding at any offset and wrapped in lines (`echo "$TOKEN" | base64` of a long value)."""
    if not any(named.values()):
        return []
    data = content.encode() if isinstance(content, str) else content
    unwrapped = data.replace(b"\r", b"").replace(b"\n", b"") if b"\n" in data else data
    hits = []
    for secret_id, value in named.items():
        runs = encodings(value.encode()) if value else []
        if value and (value.encode() in data or any(run in unwrapped for run in runs)):
            hits.append(SecretHit(f"build secret '{secret_id}'",
                                  (value, *(run.decode() for run in runs))))
    return hits


@lru_cache(maxsize=64)  # the gate asks for every file of every layer: worked out once
def encodings(value: bytes) -> tuple[bytes, ...]:
    """The base64 text that value becomes wherever it sits in an encoded stream: for each of
    the three offsets modulo 3, the characters decided by value's bytes alone (not by its
    neighbours'), in the standard and the URL-safe alphabet."""
    runs = []
    for offset in range(3):
        encoded = base64.b64encode(bytes(offset) + value)
        run = encoded[-(-8 * offset // 6):8 * (offset + len(value)) // 6]
        if run and (offset == 0 or len(run) >= MIN_ENCODED_CHARS):
            runs += [run, run.translate(_URL_SAFE)]
    return tuple(dict.fromkeys(runs))


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
