"""Integration fixtures: the real dockerd, registry and Redis (started when they do not answer)."""

from __future__ import annotations

import contextlib
import uuid

import docker
import pytest
import yaml
from redis import Redis
from sqlalchemy import create_engine, text

from app import create_app
from config import load_settings
from devstack.baseimage import ensure_base_image
from devstack.debianbase import APP_PACKAGES, ensure_debian_base
from devstack.postgres import admin_url, postgres_service
from devstack.services import REGISTRY_ADDR, ServiceSet
from record.migrate import upgrade
from tests.support.browserkit import (
    browser,  # noqa: F401  (a fixture for every browser test)
    served,
)
from tests.support.promotionkit import add_people
from tests.support.sourcerepo import SourceRepo
from tests.support.stack import (
    REDIS_DB,
    ROOT,
    SECRET_ENV,
    TEST_DATABASE,
    RecorderThread,
    authenticate_test_clients,
    repo_entry,
)

PREFIXES: list[str] = []  # every registry prefix this session handed out


@pytest.fixture(scope="session")
def services():
    """dockerd, the registry and Redis; started for the session if they do not answer. The
    session's local test images are removed at its end."""
    started = ServiceSet(ROOT / "var")
    started.ensure()
    yield started
    try:
        remove_test_images(docker.from_env(timeout=300), PREFIXES)
    finally:
        started.stop()


@pytest.fixture(scope="session")
def postgres_database(services):
    """The URL of this run's PostgreSQL database, or None when testing on SQLite."""
    if TEST_DATABASE == "sqlite":
        yield None
        return
    if TEST_DATABASE != "postgresql":
        raise ValueError("LOCKMASTER_TEST_DATABASE must be sqlite or postgresql")
    server = ServiceSet(ROOT / "var")
    server.ensure([postgres_service()])
    name = f"lockmaster_test_{REDIS_DB}"
    engine = create_engine(admin_url(), isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        if not conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}):
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    yield admin_url(name)
    server.stop()


@pytest.fixture
def database_url(tmp_path, postgres_database):
    """An empty database for this test: a SQLite file, or the PostgreSQL database emptied."""
    if postgres_database is None:
        return f"sqlite:///{tmp_path / 'var' / 'lockmaster.db'}"
    engine = create_engine(postgres_database)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    return postgres_database


@pytest.fixture(scope="session")
def docker_client(services):
    """A client of the real Docker engine."""
    return docker.from_env(timeout=300)


@pytest.fixture(scope="session")
def base_image(docker_client):
    """The busybox base image made on this machine."""
    return ensure_base_image(docker_client)


@pytest.fixture(scope="session")
def debian_base(docker_client):
    """Debian 12 minbase with ca-certificates, openssl, python3 and curl (debootstrapped once
    per machine: the engine keeps it under a tag made of those inputs)."""
    return ensure_debian_base(docker_client, ROOT / "var" / "cache", APP_PACKAGES)


@pytest.fixture
def redis_url(services):
    """An empty Redis database for this test."""
    url = f"redis://127.0.0.1:6379/{REDIS_DB}"
    Redis.from_url(url).flushdb()
    return url


@pytest.fixture
def secret(monkeypatch):
    """The webhook secret of the test repositories."""
    value = uuid.uuid4().hex
    monkeypatch.setenv(SECRET_ENV, value)
    return value


@pytest.fixture
def registry_prefix():
    """A repository prefix of this test's own, so tests never see each other's images."""
    prefix = f"t{uuid.uuid4().hex[:10]}"
    PREFIXES.append(prefix)
    return prefix


def remove_test_images(client: docker.DockerClient, prefixes: list[str]) -> int:
    """Remove the engine's local images of the given test prefixes (the workers tag every
    staged image locally, and each test is an installation of its own that `gc` never
    trims); an image that also has another name keeps it. Returns how many tags went."""
    ours = tuple(f"{REGISTRY_ADDR}/{prefix}/" for prefix in prefixes)
    removed = 0
    for image in client.images.list():
        names = image.tags or [d.split("@")[0] for d in image.attrs.get("RepoDigests") or []]
        if not names or not all(name.startswith(ours) for name in names):
            continue
        for name in image.tags or [image.id]:
            with contextlib.suppress(docker.errors.APIError):
                client.images.remove(name, noprune=False)
                removed += 1
    return removed


@pytest.fixture
def source_repo(tmp_path, base_image):
    """A Git repository on disk with a Dockerfile on the local base image."""
    return SourceRepo.create(tmp_path / "src" / "web", base_image)


@pytest.fixture
def make_app(tmp_path, redis_url, secret, registry_prefix, database_url):
    """Build a Lockmaster app for a lockmaster.yml made of the given repositories."""
    engines, recorders = [], []

    def factory(repositories: list[dict], redis: str | None = None,
                database: str | None = None, api_token: bool = True, recorder: bool = True,
                **top):
        """recorder=False: no recorder runs (a test of the recorder's own steps)."""
        document = {"registry": {"url": REGISTRY_ADDR, "insecure": True,
                                 "staging": f"{registry_prefix}/staging",
                                 "production": f"{registry_prefix}/production"},
                    "repositories": repositories, **top}
        config = tmp_path / "lockmaster.yml"
        config.write_text(yaml.safe_dump(document))
        settings = load_settings({"LOCKMASTER_DATA_DIR": str(tmp_path / "var"),
                                  "LOCKMASTER_CONFIG": str(config),
                                  "LOCKMASTER_REDIS_URL": redis or redis_url,
                                  "LOCKMASTER_DATABASE_URL": database or database_url})
        upgrade(settings.database_url)
        app = create_app(settings)
        engines.append(app.extensions["lockmaster"].db.engine)
        if api_token:
            authenticate_test_clients(app)
        if recorder:
            for running in recorders:  # the installation's settings changed: the new app's
                running.stop()  # recorder records from now on
            recorders.append(RecorderThread(app))
        return app

    yield factory
    for running in recorders:
        running.stop()
    for engine in engines:
        engine.dispose()


@pytest.fixture
def app(make_app, source_repo):
    """A Lockmaster app that builds source_repo as acme/web."""
    return make_app([repo_entry(source_repo)])


@pytest.fixture
def client(app):
    """A test client of the app."""
    return app.test_client()


@pytest.fixture
def web(make_app, source_repo):
    """The app served on a free local port (threaded, like gunicorn's concurrent requests)."""
    app = make_app([repo_entry(source_repo)])
    add_people(app)
    with served(app) as base:
        yield app, base
