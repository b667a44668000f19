"""The host of a clone URL, as webhook intake and the submodule rules judge it (plain rules)."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

_URL_SCHEMES = {"http", "https", "ssh", "git"}
_SCP_LIKE = re.compile(r"^(?:[A-Za-z0-9._-]+@)?([A-Za-z0-9.-]+):(?!//)")


def clone_host(url: str) -> str | None:
    """The lower-case host of an http(s)/ssh/git URL or of scp-like `user@host:path`."""
    if "://" in url:
        parts = urlsplit(url)
        return parts.hostname if parts.scheme.lower() in _URL_SCHEMES else None
    match = _SCP_LIKE.match(url)
    return match.group(1).lower() if match else None
