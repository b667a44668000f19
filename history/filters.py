"""Query parameters of the history API, checked and turned into plain values (domain code)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

from states import BuildStatus

MAX_LIMIT = 200
LATEST = datetime(9999, 12, 31)
DEFAULT_LIMIT = 50
_HEX = re.compile(r"[0-9a-f]{7,64}")
_DIGEST = re.compile(r"sha256:[0-9a-f]{64}")
# Row ids are 32-bit integers on PostgreSQL: a larger cursor is not one this API gave out.
MAX_ROW_ID = 2**31 - 1
_DIGITS = re.compile(r"[0-9]{1,12}")
_BUILD_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
BUILD_KEYS = ("repository", "ref", "status", "sha", "digest", "q", "since", "until", "pusher",
              "limit", "cursor", "next")
MAX_TEXT = 200
AUDIT_KEYS = ("actor", "action", "since", "until", "limit", "cursor", "next")


class BadFilter(ValueError):
    """A filter value that makes no sense; the message says which and why."""


@dataclass(frozen=True)
class BuildFilter:
    """Which builds to list, and from where (newest first)."""

    repository: str | None = None
    ref: str | None = None
    status: str | None = None
    sha: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    pusher: str | None = None
    digest: str | None = None
    text: str | None = None
    limit: int = DEFAULT_LIMIT
    cursor: str | None = None


@dataclass(frozen=True)
class AuditFilter:
    """Which audit events to list, and from where (newest first)."""

    actor: str | None = None
    action: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    limit: int = DEFAULT_LIMIT
    cursor: int | None = None


def build_filter(args: dict[str, str]) -> BuildFilter:
    """Check GET /builds parameters; BadFilter says what is wrong."""
    _known(args, BUILD_KEYS)
    status = args.get("status") or None
    if status and status not in {s.value for s in BuildStatus}:
        raise BadFilter(f"unknown status '{status}'; use one of "
                        f"{', '.join(s.value for s in BuildStatus)}")
    sha = (args.get("sha") or "").lower() or None
    if sha and not _HEX.fullmatch(sha):
        raise BadFilter(f"sha '{sha}' must be 7 to 64 hex digits (a commit id or its prefix)")
    cursor = args.get("cursor") or args.get("next") or None
    if cursor and not _BUILD_ID.fullmatch(cursor):
        raise BadFilter("cursor must be the `next` value of the previous page (a build id)")
    since, until = _window(args)
    return BuildFilter(repository=args.get("repository") or None, ref=args.get("ref") or None,
                       status=status, sha=sha, since=since, until=until,
                       pusher=args.get("pusher") or None, digest=_digest_prefix(args),
                       text=_text(args), limit=_limit(args), cursor=cursor)


def _digest_prefix(args: dict[str, str]) -> str | None:
    """`digest`: sha256:<hex> or its hex alone, 7 to 64 digits, as a `sha256:…` prefix."""
    raw = (args.get("digest") or "").strip().lower()
    if not raw:
        return None
    hex_part = raw.removeprefix("sha256:")
    if not _HEX.fullmatch(hex_part):
        raise BadFilter(f"digest '{raw[:80]}' must be sha256: and 7 to 64 hex digits (an image "
                        "digest or its prefix)")
    return "sha256:" + hex_part


def _text(args: dict[str, str]) -> str | None:
    """`q`: words to find in commit messages, at most MAX_TEXT characters."""
    text = (args.get("q") or "").strip()
    if len(text) > MAX_TEXT:
        raise BadFilter(f"q is {len(text)} characters long; search for at most {MAX_TEXT}")
    return text or None


def audit_filter(args: dict[str, str]) -> AuditFilter:
    """Check GET /audit parameters; BadFilter says what is wrong."""
    _known(args, AUDIT_KEYS)
    cursor = args.get("cursor") or args.get("next") or None
    if cursor and _whole_number(cursor, 1, MAX_ROW_ID) is None:
        raise BadFilter("cursor must be the `next` value of the previous page (a number)")
    since, until = _window(args)
    return AuditFilter(actor=args.get("actor") or None, action=args.get("action") or None,
                       since=since, until=until, limit=_limit(args),
                       cursor=int(cursor) if cursor else None)


def commit_prefix(sha: str) -> str:
    """A commit id or prefix of at least 7 hex digits, lower-cased; BadFilter otherwise."""
    if not _HEX.fullmatch(sha.lower()):
        raise BadFilter(f"'{sha}' is not a commit id: give 7 to 64 hex digits")
    return sha.lower()


def image_digest(digest: str) -> str:
    """A sha256 image digest; BadFilter otherwise."""
    if not _DIGEST.fullmatch(digest):
        raise BadFilter(f"'{digest}' is not an image digest: give sha256: and 64 hex digits")
    return digest


def _known(args: dict[str, str], keys: tuple[str, ...]) -> None:
    unknown = sorted(set(args) - set(keys))
    if unknown:
        raise BadFilter(f"unknown parameter(s) {', '.join(unknown)}; use {', '.join(keys)}")


def _limit(args: dict[str, str]) -> int:
    limit = _whole_number(args.get("limit") or str(DEFAULT_LIMIT), 1, MAX_LIMIT)
    if limit is None:
        raise BadFilter(f"limit must be a whole number from 1 to {MAX_LIMIT}")
    return limit


def _whole_number(raw: str, low: int, high: int) -> int | None:
    """raw as an int within [low, high] if it is written in ASCII digits, else None (not
    str.isdigit(): it takes '²', which int() refuses)."""
    if not _DIGITS.fullmatch(raw):
        return None
    value = int(raw)
    return value if low <= value <= high else None


def _window(args: dict[str, str]) -> tuple[datetime | None, datetime | None]:
    since, until = _moment(args, "since"), _moment(args, "until")
    if since and until and since > until:
        raise BadFilter("since is after until: nothing can match")
    return since, until


def _moment(args: dict[str, str], key: str) -> datetime | None:
    raw = args.get(key)
    if not raw:
        return None
    try:
        moment = datetime.fromisoformat(raw.replace("Z", "+00:00").replace(" ", "+"))
        if moment.tzinfo is not None:
            moment = moment.astimezone(UTC).replace(tzinfo=None)
    except (ValueError, OverflowError):
        raise BadFilter(f"{key} '{raw}' is not an ISO 8601 time (e.g. 2026-01-31T12:00:00Z)") \
            from None
    return min(moment, LATEST)
