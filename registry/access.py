"""Registry clients acting as Lockmaster's own robots (plain clients when auth is off)."""

from __future__ import annotations

from bootstrap import Runtime
from distribution.client import RegistryClient
from registry.robots import own_credentials


def registry_client(runtime: Runtime, purpose: str, **options) -> RegistryClient:
    """A client of the configured registry as the builder or promoter robot."""
    registry = runtime.settings.registry
    return RegistryClient(registry.base_url, ca_file=registry.ca_file,
                          credentials=own_credentials(runtime.settings, runtime.db, purpose),
                          **options)


def push_auth(runtime: Runtime) -> dict | None:
    """The Docker engine's auth_config for pushes by the builder robot, or None."""
    credentials = own_credentials(runtime.settings, runtime.db, "builder")
    if credentials is None:
        return None
    return {"username": credentials[0], "password": credentials[1],
            "serveraddress": runtime.settings.registry.url}
