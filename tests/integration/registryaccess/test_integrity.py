"""The integrity watch and the whole build → staging → production path with token auth on;
alerts also go out to the repository's notification targets."""

from __future__ import annotations

import hashlib
import hmac
import json
import subprocess

import pytest
import requests
from click.testing import CliRunner

from app import cli
from promotion.decisions import decide
from record.notifications import Notification
from record.registry_access import RegistryEvent
from tests.support.buildhelpers import build_of, push, wait_for
from tests.support.guarded import Guarded
from tests.support.promotionkit import PASSWORD
from tests.support.receiver import Receiver
from tests.support.stack import work

HOOK_SECRET_ENV = "LOCKMASTER_TEST_HOOK_SECRET"


@pytest.fixture
def hook(monkeypatch):
    """A notification endpoint of the test's own on 127.0.0.1."""
    monkeypatch.setenv(HOOK_SECRET_ENV, "hook-secret")
    receiver = Receiver(failures=0)
    yield receiver
    receiver.close()


@pytest.fixture
def notification_targets(hook) -> list[dict]:
    """acme/web tells the test's endpoint about promotions and integrity alerts."""
    return [{"url": hook.url, "secret_env": HOOK_SECRET_ENV, "backoff_seconds": 0,
             "events": ["promoted", "integrity.alert"]}]


def _received(hook: Receiver) -> list[tuple[str, dict]]:
    """(event, body) of every message the endpoint got, each checked for its signature."""
    messages = []
    for headers, body in hook.requests:
        expected = "sha256=" + hmac.new(b"hook-secret", body, hashlib.sha256).hexdigest()
        assert headers["X-Lockmaster-Signature-256"] == expected
        messages.append((headers["X-Lockmaster-Event"], json.loads(body)))
    return messages


def _alert_notifications(guarded: Guarded) -> list[Notification]:
    with guarded.runtime.db.session() as session:
        return list(session.query(Notification).filter_by(event="integrity.alert"))


def _events(guarded: Guarded) -> list[RegistryEvent]:
    with guarded.runtime.db.session() as session:
        return list(session.query(RegistryEvent).order_by(RegistryEvent.id))


def _production_events(guarded: Guarded, tag: str) -> list[RegistryEvent]:
    return [e for e in _events(guarded) if e.tag == tag and "/production/" in e.repository]


def _logged_in(guarded: Guarded, username: str):
    browser = guarded.app.test_client()
    page = browser.get("/login").get_data(as_text=True)
    token = page.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
    browser.post("/login", data={"username": username, "password": PASSWORD,
                                 "csrf_token": token})
    return browser


def test_a_build_is_staged_and_promoted_with_auth_on_and_raises_no_alert(
        guarded, source_repo, secret, hook):
    client = guarded.app.test_client()
    build_id = push(client, source_repo, secret)
    work(guarded.app)
    build = build_of(client, build_id)
    assert build["status"] == "staged", build
    decided = decide(guarded.runtime, build_id, "carol", "approve",
                     build["image"]["digest"], "ok")
    assert decided.status == "approved"
    work(guarded.app)
    promotion = client.get(f"/api/v1/builds/{build_id}").get_json()["promotions"][0]
    assert promotion["status"] == "promoted", promotion
    assert guarded.login("carol", PASSWORD).returncode == 0
    pulled = guarded.docker("pull", guarded.ref("production", "latest"))
    assert pulled.returncode == 0, pulled.stderr
    guarded.docker("rmi", "--no-prune", guarded.ref("production", "latest"))
    wait_for(lambda: _production_events(guarded, "latest"), 30, "the registry's notification")
    assert all(e.alert is None for e in _events(guarded))
    work(guarded.app)
    assert [event for event, _ in _received(hook)] == ["promoted"]
    browser = _logged_in(guarded, "carol")
    assert 'id="integrity-alerts"' not in browser.get("/").get_data(as_text=True)
    verified = CliRunner().invoke(cli, ["verify-registry"])
    assert verified.exit_code == 0, verified.output

    # A leaked promoter credential used outside any promotion.
    name = guarded.skopeo_copy("promoter", guarded.ref("production", "latest"))
    wait_for(lambda: [e for e in _events(guarded) if e.alert], 30, "an integrity alert")
    alert = next(e for e in _events(guarded) if e.alert)
    assert alert.tag == "latest" and alert.actor == name
    assert "no Lockmaster promotion made it" in alert.alert
    assert "the digest carries no Lockmaster signature" in alert.alert
    assert [a.target for a in guarded.audit("integrity-alert")] == [
        f"{alert.repository}:latest@{alert.digest}"]
    banner = browser.get("/").get_data(as_text=True)
    assert 'id="integrity-alerts"' in banner and "no Lockmaster promotion made it" in banner
    metrics = requests.get(f"{guarded.web}/metrics", timeout=30).text
    assert 'lockmaster_integrity_alerts_total{action="push"} 1.0' in metrics
    verified = CliRunner().invoke(cli, ["verify-registry"])
    assert verified.exit_code != 0 and ":latest serves " + alert.digest in verified.output
    assert "lockmaster_registry_mismatches 1.0" in client.get("/metrics").get_data(as_text=True)

    work(guarded.app)  # the alert's notification, queued by the web process
    event, message = _received(hook)[-1]
    assert event == "integrity.alert" and len(hook.requests) == 2
    assert message == {"event": "integrity.alert", "alert": {
        "event_id": alert.event_id, "action": "push", "repository": alert.repository,
        "environment": "production", "image": "acme/web", "tag": "latest",
        "digest": alert.digest, "actor": name, "reason": alert.alert}}
    (record,) = _alert_notifications(guarded)
    assert record.registry_event_id == alert.id and record.build_id is None
    assert record.status == "delivered"

    # The same credential copies the staged (signed) digest by hand under a tag of its own.
    name, token = guarded.robot("promoter")
    staged = f"{guarded.ref('staging', 'main').rsplit(':', 1)[0]}@{build['image']['digest']}"
    copied = subprocess.run(
        ["skopeo", "copy", "--src-tls-verify=false", "--dest-tls-verify=false",
         "--src-creds", f"{name}:{token}", "--dest-creds", f"{name}:{token}",
         f"docker://{staged}", f"docker://{guarded.ref('production', 'hotfix')}"],
        capture_output=True, text=True, timeout=120)
    assert copied.returncode == 0, copied.stderr
    wait_for(lambda: [e for e in _events(guarded) if e.alert and e.tag == "hotfix"], 30,
             "the alert of the hand-made tag")
    hotfix = next(e for e in _events(guarded) if e.alert and e.tag == "hotfix")
    assert hotfix.digest == build["image"]["digest"]
    assert f"the digest carries Lockmaster's signature (build {build_id})" in hotfix.alert


def test_a_notification_delivered_twice_is_recorded_once(guarded, hook):
    production = guarded.settings.registry.path("production", "acme/web")
    envelope = {"events": [{
        "id": "event-1", "action": "delete",
        "target": {"repository": production, "digest": "sha256:" + "1" * 64},
        "actor": {"name": "erin"}}]}
    url = f"{guarded.web}/registry/events"
    headers = {"Authorization": "Bearer events-secret-for-tests"}
    first = requests.post(url, json=envelope, headers=headers, timeout=30)
    again = requests.post(url, json=envelope, headers=headers, timeout=30)
    assert first.json() == {"recorded": 1, "alerts": 1}
    assert again.status_code == 200 and again.json() == {"recorded": 0, "alerts": 0}
    recorded = [e for e in _events(guarded) if e.event_id == "event-1"]
    assert len(recorded) == 1 and "was deleted in production" in recorded[0].alert
    assert len(guarded.audit("integrity-alert")) == 1
    work(guarded.app)
    assert [(event, body["alert"]["event_id"], body["alert"]["action"])
            for event, body in _received(hook)] == [("integrity.alert", "event-1", "delete")]
    assert len(_alert_notifications(guarded)) == 1

    wrong = requests.post(url, json=envelope, headers={"Authorization": "Bearer nope"},
                          timeout=30)
    assert wrong.status_code == 401 and "Authorization" in wrong.json()["error"]
    garbage = requests.post(url, data=b"[1, 2]", headers=headers, timeout=30)
    assert garbage.status_code == 400 and "envelope" in garbage.json()["error"]
    assert len(_events(guarded)) == 1

    # An image no repository builds: its alert goes to every target that wants alerts.
    stranger = guarded.settings.registry.path("production", "nobody/builds-this")
    pushed = {"events": [{
        "id": "event-2", "action": "push",
        "target": {"repository": stranger, "tag": "v1", "digest": "sha256:" + "2" * 64,
                   "mediaType": "application/vnd.oci.image.manifest.v1+json"},
        "actor": {"name": "mallory"}}]}
    assert requests.post(url, json=pushed, headers=headers, timeout=30).json() == {
        "recorded": 1, "alerts": 1}
    work(guarded.app)
    event, body = _received(hook)[-1]
    assert event == "integrity.alert" and body["alert"]["image"] == "nobody/builds-this"
    assert body["alert"]["tag"] == "v1" and body["alert"]["actor"] == "mallory"
