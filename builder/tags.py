"""Image tag rules: turning Git refs and commits into valid OCI tags (plain domain code)."""

from __future__ import annotations

import hashlib
import re

_TAG_RE = re.compile(r"^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$")
_INVALID = re.compile(r"[^a-zA-Z0-9._-]+")
MAX_TAG = 128


def is_valid_tag(tag: str) -> bool:
    """True if tag is a valid OCI tag."""
    return bool(_TAG_RE.match(tag))


def ref_to_tag(name: str) -> str:
    """A valid OCI tag for a branch or tag name: `feature/x` → `feature-x`.

    Characters a tag cannot hold become `-`; a name that is empty once cleaned, or too
    long, gets a short hash of the original so that distinct refs keep distinct tags.
    """
    cleaned = _INVALID.sub("-", name).lstrip("-.")
    if cleaned and len(cleaned) <= MAX_TAG:
        return cleaned
    digest = hashlib.sha256(name.encode()).hexdigest()[:8]
    if not cleaned:
        return f"ref-{digest}"
    return f"{cleaned[: MAX_TAG - 9].rstrip('-.')}-{digest}"


def short_sha(sha: str) -> str:
    """The 12-character commit abbreviation used in tags."""
    return sha[:12]


def branch_name(ref: str) -> str | None:
    """`refs/heads/x` → `x`; None for anything else."""
    return ref[len("refs/heads/"):] if ref.startswith("refs/heads/") else None


def tag_name(ref: str) -> str | None:
    """`refs/tags/v1` → `v1`; None for anything else."""
    return ref[len("refs/tags/"):] if ref.startswith("refs/tags/") else None
