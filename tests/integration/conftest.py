"""Integration fixtures: the real dockerd, registry and Redis (started when they do not answer)."""

from __future__ import annotations

import contextlib
import json
import os
import threading
import time
import uuid
from pathlib import Path

import docker
import pytest
import requests
import yaml
from flask.testing import FlaskClient
from redis import Redis
from rq import SimpleWorker
from sqlalchemy import create_engine, text

from app import create_app
from auth.tokens import create_token
from auth.users import UserError, add_user
from bootstrap import BUILDS_QUEUE, NOTIFICATIONS_QUEUE, PROMOTIONS_QUEUE
from config import load_settings
from devstack.baseimage import ensure_base_image
from devstack.debianbase import APP_PACKAGES, ensure_debian_base
from devstack.gitpush import signed_headers
from devstack.postgres import admin_url, postgres_service
from devstack.services import REGISTRY_ADDR, ServiceSet
from lineage.migrate import upgrade
from lineage.models import Build
from tests.integration.browserkit import browser  # noqa: F401  (a fixture for every browser test)
from tests.integration.sourcerepo import SourceRepo
from webhooks.recorder import pending, recorder_loop

ROOT = Path(__file__).resolve().parents[2]
# Each test run owns two Redis databases: REDIS_DB and REDIS_DB + 1 (the e2e stack's).
REDIS_DB = int(os.environ.get("LOCKMASTER_TEST_REDIS_DB", "14"))
SECRET_ENV = "LOCKMASTER_TEST_WEBHOOK_SECRET"
# `sqlite` (a file per test) or `postgresql` (a database per run, emptied before each test).
TEST_DATABASE = os.environ.get("LOCKMASTER_TEST_DATABASE", "sqlite")
# How long a test waits for the recorder to write what it was answered (it takes milliseconds).
RECORD_TIMEOUT = 30.0


@pytest.fixture(scope="session")
def services():
    """dockerd, the registry and Redis; started for the session if they do not answer."""
    started = ServiceSet(ROOT / "var")
    started.ensure()
    yield started
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
    return f"t{uuid.uuid4().hex[:10]}"


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


class RecorderThread:
    """The real recorder loop (what `lockmaster recorder` runs beside each worker), in a
    thread of the test process, reading the stream every 50 ms so that it stops at once."""

    def __init__(self, app):
        self.app, self.stopping = app, threading.Event()
        self.thread = threading.Thread(target=self._run, name="recorder", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        with self.app.app_context():
            recorder_loop(self.app.extensions["lockmaster"], lambda: not self.stopping.is_set(),
                          block_ms=50)

    def stop(self) -> None:
        self.stopping.set()
        self.thread.join(timeout=60)
        assert not self.thread.is_alive(), "the test recorder did not stop within 60s"


def wait_recorded(app, timeout: float = RECORD_TIMEOUT) -> None:
    """Wait until the app's recorder has written every delivery admitted so far (bounded)."""
    runtime = app.extensions["lockmaster"]
    deadline = time.monotonic() + timeout
    while pending(runtime):
        assert time.monotonic() < deadline, \
            (f"{pending(runtime)} deliveries still not recorded after {timeout:.0f}s: "
             "does a recorder run (make_app(recorder=False) has none)?")
        time.sleep(0.005)


def wait_for_build(app, build_id: str, timeout: float = RECORD_TIMEOUT) -> None:
    """Wait until the recorder has written build build_id (named in a 202) and handed it over."""
    runtime = app.extensions["lockmaster"]
    deadline = time.monotonic() + timeout
    while True:
        with runtime.db.session() as session:
            if session.get(Build, build_id) is not None and not pending(runtime):
                return
        assert time.monotonic() < deadline, f"build {build_id} not recorded after {timeout:.0f}s"
        time.sleep(0.005)


class TokenClient(FlaskClient):
    """A test client that sends the app's test API token unless told otherwise."""

    def open(self, *args, **kwargs):
        headers = dict(kwargs.pop("headers", None) or {})
        headers.setdefault("Authorization", f"Bearer {self.application.config['TEST_TOKEN']}")
        return super().open(*args, headers=headers, **kwargs)


def authenticate_test_clients(app, scope: str = "build") -> str:
    """Give app a user 'api-tests' (a developer, once per database) with a token of scope, sent
    by its test clients."""
    db = app.extensions["lockmaster"].db
    with contextlib.suppress(UserError):
        add_user(db, "api-tests", "developer", [], uuid.uuid4().hex)
    token = create_token(db, f"api-tests-{uuid.uuid4().hex[:8]}", scope, "api-tests")
    app.config["TEST_TOKEN"] = token
    app.test_client_class = TokenClient
    return app.config["TEST_TOKEN"]


def repo_entry(repo: SourceRepo, **overrides) -> dict:
    """A lockmaster.yml repository entry for a test source repository."""
    return {"name": "acme/web", "provider": "github", "secret_env": SECRET_ENV,
            "clone_url": str(repo.path), "image": "acme/web", "branches": ["main"],
            **overrides}


@pytest.fixture
def app(make_app, source_repo):
    """A Lockmaster app that builds source_repo as acme/web."""
    return make_app([repo_entry(source_repo)])


@pytest.fixture
def client(app):
    """A test client of the app."""
    return app.test_client()


def post_github(client, payload, secret: str, event: str = "push", delivery: str | None = None,
                body: bytes | None = None, headers: dict | None = None, wait: bool = True):
    """Send a GitHub delivery signed with secret through the app, then (wait=True) wait until
    the app's recorder has written it, as a Git host's next look would find it."""
    raw = body if body is not None else json.dumps(payload).encode()
    sent = signed_headers(raw, secret, event=event, delivery=delivery)
    sent.update(headers or {})
    response = client.post("/webhooks/github", data=raw, headers=sent)
    if wait and response.status_code != 503:
        wait_recorded(client.application)
    return response


def work(app) -> None:
    """Wait for the recorder, then run every queued job with a real RQ worker, and return."""
    runtime = app.extensions["lockmaster"]
    wait_recorded(app)
    with app.app_context():
        queues = [runtime.queue(name)
                  for name in (BUILDS_QUEUE, PROMOTIONS_QUEUE, NOTIFICATIONS_QUEUE)]
        SimpleWorker(queues, connection=runtime.redis).work(burst=True)


def registry_get(path: str, accept: str | None = None) -> requests.Response:
    """GET from the registry's HTTP API, as any client would."""
    headers = {"Accept": accept} if accept else {}
    return requests.get(f"http://{REGISTRY_ADDR}/v2/{path}", headers=headers, timeout=30)


def app_environ(app) -> dict[str, str]:
    """The environment a `lockmaster` process needs to be the same installation as app."""
    settings = app.extensions["lockmaster"].settings
    return {**os.environ, "LOCKMASTER_DATA_DIR": str(settings.data_dir),
            "LOCKMASTER_CONFIG": str(settings.config_path),
            "LOCKMASTER_REDIS_URL": settings.redis_url,
            "LOCKMASTER_DATABASE_URL": settings.database_url}
