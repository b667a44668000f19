"""Which submodule URLs a build may fetch: the repository's own host(s) only (plain rules)."""

from __future__ import annotations

import posixpath
import re
from urllib.parse import urlsplit, urlunsplit

from builder.cloneurls import clone_host
from builder.masking import without_credentials

_SCP_LIKE = re.compile(r"^([^@/:]+@)?([^/:]+):(.*)$")


def is_local(url: str) -> bool:
    """True for a path or file:// URL."""
    return url.lower().startswith(("/", "./", "../", "file:")) or url in (".", "..")


def resolve(url: str, base: str) -> str:
    """A submodule URL as Git resolves it: `./x` and `../x` relative to the base's URL."""
    if not url.startswith(("./", "../")):
        return url
    if "://" in base:
        parts = urlsplit(base)
        return urlunsplit(parts._replace(path=_join(parts.path or "/", url)))
    match = _SCP_LIKE.match(base)
    if match and not is_local(base):
        return f"{match.group(1) or ''}{match.group(2)}:{_join(match.group(3), url)}"
    return _join(base, url)


def _join(path: str, relative: str) -> str:
    return posixpath.normpath(posixpath.join(path.rstrip("/") or "/", relative))


def refusal(name: str, url: str, base: str, allowed_hosts: tuple[str, ...]) -> str | None:
    """Why the submodule `name` at `url` (in a repository cloned from base) may not be
    fetched, or None when it may."""
    resolved, shown = resolve(url, base), without_credentials(url)
    if is_local(resolved):
        if is_local(base):
            return None
        return (f"submodule '{name}' at {shown} is refused: local paths and file:// URLs are "
                "fetched only for a repository cloned from a local path; point the submodule "
                "at the repository's Git host, or set submodules: false in lockmaster.yml")
    host = clone_host(resolved)
    own = clone_host(base) if not is_local(base) else None
    if host is not None and (host == own or host in allowed_hosts):
        return None
    return (f"submodule '{name}' at {shown} is refused: its host ({host or 'unknown'}) is "
            f"neither the repository's own ({own or 'a local path'}) nor in "
            "webhooks.clone_hosts; add the host there, or set submodules: false in "
            "lockmaster.yml")
