"""The environment of every process a worker starts (git, syft, hadolint, the docker CLI):
only what such a tool needs, never the worker's own secrets."""

from __future__ import annotations

import os

# Where tools are, where their own settings and caches live, how to reach the engine, and
# which CA certificates to trust. Nothing else of the worker's environment is passed on.
KEPT = ("PATH", "HOME", "LANG", "LC_ALL", "TZ", "TMPDIR", "XDG_CONFIG_HOME", "XDG_CACHE_HOME",
        "DOCKER_HOST", "DOCKER_CONFIG", "DOCKER_CERT_PATH", "DOCKER_TLS_VERIFY",
        "SSL_CERT_FILE", "SSL_CERT_DIR")


def child_env(extra: dict[str, str] | None = None, keep: tuple[str, ...] = ()) -> dict[str, str]:
    """A minimal, explicit environment: the KEPT variables of this process (and `keep`),
    then `extra`."""
    env = {name: os.environ[name] for name in (*KEPT, *keep) if name in os.environ}
    env.setdefault("PATH", os.defpath)
    return {**env, **(extra or {})}
