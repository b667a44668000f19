"""Fault tests share the integration suite's fixtures and real services."""

from tests.integration.conftest import (  # noqa: F401  (fixtures)
    app,
    base_image,
    client,
    database_url,
    docker_client,
    make_app,
    postgres_database,
    redis_url,
    registry_prefix,
    secret,
    services,
    source_repo,
)
