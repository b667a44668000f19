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
def secret_files(values: dict[str, str], root: Path = TMPFS) -> Iterator[dict[str, Path]]:
    """id → path of a 0600 file holding the value, in a 0700 folder on a tmpfs (never on
    disk); the folder is gone when the block ends."""
    if not values:
        yield {}
        return
    folder = Path(tempfile.mkdtemp(prefix="lockmaster-secrets-",
                                   dir=root if root.is_dir() else None))
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
