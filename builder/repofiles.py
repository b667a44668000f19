"""Files of a checkout read as hostile input: no symbolic link followed, every read bounded.

Every file Lockmaster itself reads from a pushed commit (the Dockerfile, .dockerignore, the
tests file…) goes through `read_text`, whichever builder sends the context. The context itself
is sent by `context_tar`: links go to the engine as links (never as the file they point at),
which is also what the docker CLI does when it sends a directory.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path, PurePosixPath
from typing import IO

from docker.utils import tar

MAX_READ_BYTES = 1 << 20


class RepositoryFileError(Exception):
    """A file of the commit that Lockmaster will not read; the message names it."""


def read_text(root: Path, relative: str, max_bytes: int = MAX_READ_BYTES) -> str | None:
    """The text of root/relative (None if the commit has no such file), read without
    following any link on the way and refusing anything but a regular file of at most
    max_bytes."""
    parts = PurePosixPath(relative).parts
    if not parts or parts[0] == "/" or ".." in parts:
        raise RepositoryFileError(f"'{relative}' must be a path inside the repository")
    folder = os.open(root, os.O_RDONLY | os.O_DIRECTORY)
    try:
        for depth, part in enumerate(parts):
            shown = "/".join(parts[:depth + 1])
            try:
                found = os.stat(part, dir_fd=folder, follow_symlinks=False)
            except FileNotFoundError:
                return None
            if stat.S_ISLNK(found.st_mode):
                raise RepositoryFileError(_link_message(shown, os.readlink(part, dir_fd=folder)))
            if depth == len(parts) - 1:
                return _read_regular(folder, part, shown, found, max_bytes)
            if not stat.S_ISDIR(found.st_mode):
                return None
            inner = os.open(part, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=folder)
            os.close(folder)
            folder = inner
    finally:
        os.close(folder)
    return None


def _read_regular(folder: int, name: str, shown: str, found: os.stat_result,
                  max_bytes: int) -> str:
    if not stat.S_ISREG(found.st_mode):
        raise RepositoryFileError(f"'{shown}' is not a regular file; commit a plain file there")
    if found.st_size > max_bytes:
        raise RepositoryFileError(f"'{shown}' is larger than {max_bytes // 1024} KiB; "
                                  "Lockmaster reads no more of it")
    handle = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK, dir_fd=folder)
    with os.fdopen(handle, "rb") as file:
        data = file.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise RepositoryFileError(f"'{shown}' grew beyond {max_bytes // 1024} KiB while read")
    return data.decode(errors="replace")


def _link_message(shown: str, target: str) -> str:
    return (f"'{shown}' is a symbolic link (to {target}): Lockmaster follows no links in the "
            "files it reads from a commit; commit the file itself there")


def ignore_patterns(context: Path) -> list[str]:
    """The context's .dockerignore patterns (read as above), plus the checkout's own `.git`
    (different in every workspace, so `COPY . …` would never be cached)."""
    text = read_text(context, ".dockerignore") or ""
    lines = [line.strip() for line in text.splitlines()]
    return [line for line in lines if line and not line.startswith("#")] + [".git"]


def context_tar(context: Path, dockerfile_name: str, dockerfile_text: str) -> IO[bytes]:
    """The build context as a tar for the engine, with Lockmaster's Dockerfile in it. Links are
    archived as links and linked folders are not entered (docker-py's archiver uses lstat)."""
    return tar(str(context), exclude=ignore_patterns(context),
               dockerfile=(dockerfile_name, dockerfile_text))
