"""The build-engine keys of lockmaster.yml: `builder`, `secrets` and `pool` per repository,
`buildkit.frontend_image` (plain domain code; the reader is config/__init__.py's)."""

from __future__ import annotations

import re
from dataclasses import dataclass

BUILDERS = ("buildkit", "legacy")
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_ENV = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,127}$")
_POOL = re.compile(r"^[a-z0-9][a-z0-9-]{0,31}$")
BUILDKIT_KEYS = {"frontend_image"}


@dataclass(frozen=True)
class BuildSecret:
    """A build secret: its id in `RUN --mount=type=secret,id=…` and the worker's variable
    that holds its value (never the value itself)."""

    id: str
    env: str


def parse_engine_keys(reader) -> dict:
    """`builder`, `secrets` and `pool` of one repository, each checked."""
    builder = reader.get("builder", str, "buildkit")
    if builder not in BUILDERS:
        reader.fail("builder", f"must be one of {', '.join(BUILDERS)}")
    pool = reader.get("pool", str)
    if pool is not None and not _POOL.match(pool):
        reader.fail("pool", "must be a short lower-case name (letters, digits, '-'), "
                            "e.g. tenant-a")
    secrets = _secrets(reader)
    if secrets and builder == "legacy":
        reader.fail("secrets", "needs the BuildKit builder: remove 'builder: legacy' (the "
                               "legacy builder has no secret mounts)")
    return {"builder": builder, "pool": pool, "secrets": secrets}


def _secrets(reader) -> tuple[BuildSecret, ...]:
    found: list[BuildSecret] = []
    for item in reader.get("secrets", list, []):
        if not isinstance(item, dict) or set(item) != {"id", "env"}:
            reader.fail("secrets", "must be a list of {id: NAME, env: VARIABLE} (the value "
                                   "comes from the worker's environment, never from this file)")
        secret_id, env = str(item["id"]), str(item["env"])
        if not _ID.match(secret_id) or not _ENV.match(env):
            reader.fail("secrets", f"has a bad id {secret_id!r} or variable {env!r}")
        if any(s.id == secret_id for s in found):
            reader.fail("secrets", f"declares the id {secret_id!r} twice")
        found.append(BuildSecret(secret_id, env))
    return tuple(found)


def parse_frontend_image(reader) -> str | None:
    """`buildkit.frontend_image`: a mirrored docker/dockerfile image, passed as BUILDKIT_SYNTAX."""
    return reader.get("frontend_image", str)
