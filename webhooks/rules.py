"""Which pushes build: ref validity, branch/tag globs, deletions (plain domain code)."""

from __future__ import annotations

import re
from fnmatch import fnmatchcase

from builder.tags import branch_name, tag_name
from webhooks.events import MalformedPayload, PushEvent

_SHA = re.compile(r"^[0-9a-f]{40}([0-9a-f]{24})?$")
_FORBIDDEN_IN_REF = re.compile(r"[\x00-\x20\x7f~^:?*\[\\]")


def is_valid_ref(ref: str) -> bool:
    """Git's check-ref-format rules, plus: no component may start with '-'."""
    if not ref.startswith("refs/") or len(ref) > 1024:
        return False
    if _FORBIDDEN_IN_REF.search(ref) or ".." in ref or "@{" in ref or "//" in ref:
        return False
    if ref.endswith(("/", ".")):
        return False
    parts = ref.split("/")
    return all(p and not p.startswith((".", "-")) and not p.endswith(".lock") for p in parts)


def validate_push(event: PushEvent) -> None:
    """Raise MalformedPayload for a ref or commit id that must never reach git."""
    if not is_valid_ref(event.ref):
        raise MalformedPayload(f"ref {event.ref!r} is not a valid Git ref name")
    if not _SHA.match(event.after):
        raise MalformedPayload(f"commit id {event.after!r} is not a 40-hex (or 64-hex) SHA")


def ignore_reason(event: PushEvent, branches: tuple[str, ...], tags: tuple[str, ...]) -> str | None:
    """Why this push builds nothing, or None if it builds."""
    if event.deleted:
        return f"{event.ref} was deleted: nothing to build"
    branch, tag = branch_name(event.ref), tag_name(event.ref)
    if branch is not None:
        if any(fnmatchcase(branch, pattern) for pattern in branches):
            return None
        return f"branch '{branch}' is not configured to build (branches: {list(branches)})"
    if tag is not None:
        if any(fnmatchcase(tag, pattern) for pattern in tags):
            return None
        return f"tag '{tag}' is not configured to build (tags: {list(tags)})"
    return f"{event.ref} is neither a branch nor a tag"


def clone_source(configured: str | None, offered: str | None) -> str:
    """The URL to clone: the configured one, else the one the payload offers if it is safe."""
    url = configured or offered
    if not url:
        raise MalformedPayload("the payload names no clone URL and none is configured")
    if url.startswith("-") or "::" in url.split("/", 1)[0]:
        raise MalformedPayload(f"clone URL {url!r} is not allowed: use http(s), ssh or a path")
    return url
