"""End-to-end fixtures share the integration suite's services."""

from tests.integration.conftest import services  # noqa: F401  (the session's real services)
