"""Deployment tests share the integration suite's services."""

from tests.integration.conftest import docker_client, services  # noqa: F401  (fixtures)
