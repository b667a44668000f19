"""A registry of the test's own with token auth and notifications, trusting a gunicorn of
the test's own: the fixtures of the registry access tests."""

from __future__ import annotations

from functools import partial

import pytest

from registry import signing
from tests.support.guarded import EVENTS_ENV, Guarded, use_installation
from tests.support.ownregistry import own_registry
from tests.support.promotionkit import add_people
from tests.support.stack import repo_entry
from tests.support.webserver import free_port, gunicorn


@pytest.fixture
def notification_targets() -> list[dict]:
    """The repository's outgoing notification targets (a test module may override this)."""
    return []


@pytest.fixture
def guarded(make_app, source_repo, registry_prefix, tmp_path, monkeypatch, base_image,
            notification_targets):
    """Token auth and notifications on, with a registry and a gunicorn of the test's own."""
    monkeypatch.setenv(EVENTS_ENV, "events-secret-for-tests")
    addr = f"127.0.0.1:{free_port()}"
    app = make_app([repo_entry(source_repo, notifications=notification_targets)], registry={
        "url": addr, "insecure": True, "auth": "token", "events_secret_env": EVENTS_ENV,
        "staging": f"{registry_prefix}/staging", "production": f"{registry_prefix}/production",
        "probe_seconds": 1, "probe_image": f"{registry_prefix}/production/acme/web:probe"},
        web={"trusted_proxies": ["127.0.0.1"]})  # tests play clients at other addresses
    add_people(app)
    settings = use_installation(monkeypatch, app)
    (tmp_path / "docker").mkdir()
    with gunicorn(settings) as web:
        registry = partial(own_registry, tmp_path / "registry", addr=addr,
                           realm=f"{web}/auth/token",
                           bundle=str(signing.bundle_path(settings.data_dir)),
                           events_url=f"{web}/registry/events",
                           events_secret="events-secret-for-tests",
                           metrics_addr=f"127.0.0.1:{free_port()}")
        guarded = Guarded(app, addr, web, tmp_path / "docker", registry)
        guarded.start_registry()
        try:
            yield guarded
        finally:
            guarded.stop_registry()
