"""Fault tests share the integration suite's fixtures and real services."""

import pytest
from sqlalchemy import create_engine, text

from devstack.postgres import admin_url, postgres_service
from devstack.services import ServiceSet
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
from tests.support.stack import REDIS_DB, ROOT


@pytest.fixture
def postgres_url(services):  # noqa: F811
    """An empty PostgreSQL database of this run on the test server, whatever the suite's
    database (several web processes writing at once is a production shape: PostgreSQL)."""
    server = ServiceSet(ROOT / "var")
    server.ensure([postgres_service()])
    name = f"lockmaster_faults_{REDIS_DB}"
    engine = create_engine(admin_url(), isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    yield admin_url(name)
    server.stop()
