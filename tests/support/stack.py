"""The test installation's plumbing: its Redis database and secrets, the recorder beside each
test app, and the calls a test makes as a Git host or an operator would."""

from __future__ import annotations

import contextlib
import json
import os
import threading
import time
import uuid
from pathlib import Path

import requests
from flask.testing import FlaskClient
from rq import SimpleWorker

from auth.tokens import create_token
from auth.users import UserError, add_user
from bootstrap import BUILDS_QUEUE, NOTIFICATIONS_QUEUE, PROMOTIONS_QUEUE
from devstack.gitpush import signed_headers
from devstack.services import REGISTRY_ADDR
from record.models import Build
from tests.support.sourcerepo import SourceRepo
from webhooks.recorder import pending, recorder_loop

ROOT = Path(__file__).resolve().parents[2]
# Each test run owns two Redis databases: REDIS_DB and REDIS_DB + 1 (the e2e stack's).
REDIS_DB = int(os.environ.get("LOCKMASTER_TEST_REDIS_DB", "14"))
SECRET_ENV = "LOCKMASTER_TEST_WEBHOOK_SECRET"
# `sqlite` (a file per test) or `postgresql` (a database per run, emptied before each test).
TEST_DATABASE = os.environ.get("LOCKMASTER_TEST_DATABASE", "sqlite")
# How long a test waits for the recorder to write what it was answered (it takes milliseconds).
RECORD_TIMEOUT = 30.0



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
