"""The shapes of real secrets: a pattern to find a candidate, then a rule that it is one."""

from __future__ import annotations

import base64
import binascii
import re
import zlib
from collections.abc import Callable
from dataclasses import dataclass

# (kind, literal texts one of which must be present, pattern): the cheap `in` test first
# keeps a scan of a large image to one pass of memchr per literal instead of a regex per kind.
# Group 1 is the value to mask (for a private key: its whole block).
PATTERNS: list[tuple[str, tuple[bytes, ...], re.Pattern]] = [
    # A header alone is what every TLS library carries (format strings, tables of labels):
    # only a block with a body of base64 up to the matching END line is a key.
    ("private key", (b"PRIVATE KEY-----",), re.compile(
        rb"(-----BEGIN ((?:[A-Z0-9]+ ){0,2})PRIVATE KEY((?: BLOCK)?)-----\r?\n"
        rb"((?:[A-Za-z-]+: [^\r\n]{1,200}\r?\n){0,8})\s*"
        rb"([A-Za-z0-9+/=\s]{40,16000}?)-----END \2PRIVATE KEY\3-----)")),
    ("AWS access key id", (b"AKIA", b"ASIA"),
     re.compile(rb"(?<![A-Z0-9])((?:AKIA|ASIA)[A-Z2-7]{16})(?![A-Z0-9])")),
    ("AWS secret access key", (b"ecret", b"ECRET"), re.compile(
        rb"(?i)aws_?secret_?access_?key[\"']?\s*[=:]\s*[\"']?([A-Za-z0-9/+=]{40})"
        rb"(?![A-Za-z0-9/+=])")),
    ("GitHub token", (b"ghp_", b"gho_", b"ghu_", b"ghs_", b"ghr_"),
     re.compile(rb"(?<![A-Za-z0-9_])(gh[pousr]_[A-Za-z0-9]{36})(?![A-Za-z0-9_])")),
    ("GitHub token", (b"github_pat_",),
     re.compile(rb"(?<![A-Za-z0-9_])(github_pat_[A-Za-z0-9]{22}_[A-Za-z0-9]{59})(?![A-Za-z0-9_])")),
    ("GitLab token", (b"glpat-",), re.compile(rb"\b(glpat-[A-Za-z0-9_-]{20,})")),
    ("Slack token", (b"xoxa-", b"xoxb-", b"xoxp-", b"xoxr-", b"xoxs-"),
     re.compile(rb"\b(xox[abprs]-[A-Za-z0-9-]{10,})")),
    ("Google API key", (b"AIza",), re.compile(rb"\b(AIza[0-9A-Za-z_-]{35})")),
    ("Stripe secret key", (b"_live_",), re.compile(rb"\b([rs]k_live_[0-9a-zA-Z]{24,})")),
]
_KEY_LINE = re.compile(rb"[A-Za-z0-9+/=]{16,}")
_DIGITS = b"0123456789"
BASE62_ALPHABETS = (_DIGITS + b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
           _DIGITS + b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")


@dataclass(frozen=True)
class SecretHit:
    """One secret found in a text: what kind it is and the exact values to mask."""

    kind: str
    values: tuple[str, ...]


def find_secrets(content: bytes | str, verify: bool = False) -> list[SecretHit]:
    """Every secret in a file's bytes or a text (the values only ever go to the masker).

    By shape alone (what the log masker wants: masking too much costs nothing), or with
    `verify` also by what the shape allows checking — a key's body decodes, a token's
    checksum holds — which the secrets gate needs, since each finding rejects a build.
    """
    data = content.encode() if isinstance(content, str) else content
    hits = []
    for kind, literals, pattern in PATTERNS:
        if not any(literal in data for literal in literals):
            continue
        for found in pattern.finditer(data):
            if not verify or _RULES.get(kind, _always)(found):
                hits.append(SecretHit(kind, _values(kind, found)))
    return hits


def _values(kind: str, found: re.Match) -> tuple[str, ...]:
    raw = _KEY_LINE.findall(found.group(5)) if kind == "private key" else [found.group(1)]
    return tuple(v.decode("ascii", "replace") for v in raw)


def _always(_found: re.Match) -> bool:
    return True


def is_private_key(found: re.Match) -> bool:
    """True when the block's body decodes to a key (DER, an OpenSSH or a PGP key)."""
    label, headers, body = found.group(2), found.group(4), found.group(5)
    lines = body.split()
    if label.startswith(b"PGP") and lines and lines[-1].startswith(b"="):
        lines = lines[:-1]  # the armour's checksum line
    try:
        key = base64.b64decode(b"".join(lines), validate=True)
    except (binascii.Error, ValueError):
        return False
    if len(key) < 32:
        return False
    if b"ENCRYPTED" in headers or label.startswith(b"PGP"):
        return True  # an encrypted body is random bytes: its length is what we can judge
    return key[0] == 0x30 or key.startswith(b"openssh-key-v1\0")


def is_github_token(found: re.Match) -> bool:
    """A classic token's last six characters are the base62 CRC32 of the thirty before."""
    token = found.group(1)
    if token.startswith(b"github_pat_"):
        return True  # fine-grained tokens: the shape is all GitHub documents
    body, check = token[4:34], token[34:]
    return any(base62(zlib.crc32(body), alphabet) == check for alphabet in BASE62_ALPHABETS)


def base62(number: int, alphabet: bytes) -> bytes:
    """number written in base 62 with alphabet, six digits (a token's checksum part)."""
    digits = b""
    while number:
        number, rest = divmod(number, 62)
        digits = alphabet[rest:rest + 1] + digits
    return digits.rjust(6, b"0")


_RULES: dict[str, Callable[[re.Match], bool]] = {
    "private key": is_private_key, "GitHub token": is_github_token}
