"""End-to-end fixtures share the integration suite's services and databases."""

from tests.integration.conftest import (  # noqa: F401  (fixtures used by e2e tests)
    database_url,
    postgres_database,
    services,
)
