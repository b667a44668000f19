"""Build secrets on a tmpfs: each value in a 0600 file for the build, removed after it."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from builder.errors import BuildFailure
from config.bksettings import BuildSecret

TMPFS = Path("/dev/shm")
MEMORY_FILE_SYSTEMS = {"tmpfs", "ramfs"}


def secret_values(secrets: tuple[BuildSecret, ...],
                  environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """Each declared secret's value from the worker's environment; BuildFailure names a
    variable that is not set (never a value)."""
    env = os.environ if environ is None else environ
    values = {}
    for secret in secrets:
        value = env.get(secret.env)
        if not value:
            raise BuildFailure("build", f"the build secret '{secret.id}' has no value: set "
                                        f"{secret.env} in the worker's environment")
        values[secret.id] = value
    return values


@contextmanager
def secret_files(values: dict[str, str], root: Path = TMPFS,
                 mounts: Path = Path("/proc/self/mounts")) -> Iterator[dict[str, Path]]:
    """id → path of a 0600 file holding the value, in a 0700 folder on a tmpfs (never on
    disk); the folder is gone when the block ends."""
    if not values:
        yield {}
        return
    if not on_memory_fs(root, mounts):
        raise BuildFailure("build", f"build secrets are written only to a tmpfs, and {root} is "
                                    "not one on this worker: mount one there (mount -t tmpfs "
                                    f"tmpfs {root}), or build this repository without secrets")
    folder = Path(tempfile.mkdtemp(prefix="lockmaster-secrets-", dir=root))
    try:
        paths = {}
        for secret_id, value in values.items():
            path = folder / secret_id
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(descriptor, "w") as handle:
                handle.write(value)
            paths[secret_id] = path
        yield paths
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def on_memory_fs(folder: Path, mounts: Path = Path("/proc/self/mounts")) -> bool:
    """Whether folder is a directory on a file system held in memory (its mount point is the
    longest one above it)."""
    if not folder.is_dir():
        return False
    target = os.path.realpath(folder)
    best, kind = "", ""
    for line in mounts.read_text().splitlines():
        fields = line.split()
        if len(fields) < 3:
            continue
        point = fields[1].replace("\\040", " ")
        inside = target == point or target.startswith(point.rstrip("/") + "/")
        if inside and len(point) >= len(best):
            best, kind = point, fields[2]
    return kind in MEMORY_FILE_SYSTEMS
