"""Outgoing notifications: signed, retried with backoff, each delivered once and recorded."""

import hashlib
import hmac
import json

import pytest

from auth.tokens import create_token
from tests.support.promotionkit import add_people, stage
from tests.support.receiver import Receiver
from tests.support.stack import post_github, repo_entry, work


@pytest.fixture
def receiver():
    made = []

    def factory(failures=0):
        made.append(Receiver(failures))
        return made[-1]

    yield factory
    for item in made:
        item.close()


def test_an_endpoint_that_fails_twice_gets_the_message_once_and_it_is_recorded(
        make_app, source_repo, secret, receiver, monkeypatch):
    monkeypatch.setenv("NOTIFY_SECRET", "n0tify")
    hook = receiver(failures=2)
    app = make_app([repo_entry(source_repo, notifications=[
        {"url": hook.url, "secret_env": "NOTIFY_SECRET", "backoff_seconds": 0}])])
    client = app.test_client()
    build_id = post_github(client, source_repo.payload(), secret).get_json()["builds"][0]["id"]
    work(app)
    assert len(hook.requests) == 3
    headers, body = hook.requests[-1]
    assert headers["X-Lockmaster-Event"] == "staged"
    expected = "sha256=" + hmac.new(b"n0tify", body, hashlib.sha256).hexdigest()
    assert headers["X-Lockmaster-Signature-256"] == expected
    message = json.loads(body)
    assert message["event"] == "staged" and message["build"]["id"] == build_id
    assert message["build"]["image"]["digest"].startswith("sha256:")
    (record,) = client.get(f"/api/v1/builds/{build_id}").get_json()["notifications"]
    assert record["status"] == "delivered" and record["attempts"] == 3
    assert record["last_status_code"] == 204 and record["target"].startswith("127.0.0.1:")


def test_a_slack_target_gets_a_readable_text_and_gives_up_after_its_attempts(
        make_app, source_repo, secret, receiver):
    hook = receiver(failures=99)
    dockerfile = (source_repo.path / "Dockerfile").read_text()
    source_repo.commit({"Dockerfile": dockerfile + "RUN exit 1\n"}, "Break it")
    app = make_app([repo_entry(source_repo, notifications=[
        {"url": hook.url, "format": "slack", "events": ["failed"], "attempts": 2,
         "backoff_seconds": 0}])])
    client = app.test_client()
    build_id = post_github(client, source_repo.payload(), secret).get_json()["builds"][0]["id"]
    work(app)
    assert len(hook.requests) == 2
    text = json.loads(hook.requests[0][1])["text"]
    assert "acme/web" in text and "failed" in text and "reason:" in text
    (record,) = client.get(f"/api/v1/builds/{build_id}").get_json()["notifications"]
    assert (record["status"], record["attempts"], record["last_status_code"]) == (
        "failed", 2, 500)


def test_events_a_target_did_not_ask_for_send_nothing(make_app, source_repo, secret, receiver):
    hook = receiver()
    app = make_app([repo_entry(source_repo, notifications=[
        {"url": hook.url, "events": ["promoted"]}])])
    client = app.test_client()
    build_id = post_github(client, source_repo.payload(), secret).get_json()["builds"][0]["id"]
    work(app)
    assert hook.requests == []
    assert client.get(f"/api/v1/builds/{build_id}").get_json()["notifications"] == []


def test_an_approval_and_the_promotion_it_starts_are_notified(make_app, source_repo, secret,
                                                              receiver):
    hook = receiver()
    app = make_app([repo_entry(source_repo, notifications=[
        {"url": hook.url, "events": ["approved", "promoted"], "backoff_seconds": 0}])])
    add_people(app)
    build = stage(app, source_repo)
    token = create_token(app.extensions["lockmaster"].db, "carol-notify", "approve", "carol")
    answer = app.test_client().post(f"/api/v1/builds/{build.id}/approvals",
                                    json={"decision": "approve"},
                                    headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 201, answer.get_json()
    work(app)
    messages = [json.loads(body) for _headers, body in hook.requests]
    assert [m["event"] for m in messages] == ["approved", "promoted"]
    assert {m["build"]["id"] for m in messages} == {build.id}
    assert messages[1]["build"]["promotions"][0]["status"] == "promoted"


def test_a_notification_whose_job_was_lost_is_sent_after_reconcile(
        make_app, source_repo, secret, receiver):
    from rq import Queue, SimpleWorker

    from notify.publish import requeue_pending

    hook = receiver()
    app = make_app([repo_entry(source_repo, notifications=[
        {"url": hook.url, "events": ["staged"], "backoff_seconds": 0}])])
    runtime = app.extensions["lockmaster"]
    post_github(app.test_client(), source_repo.payload(), secret)
    with app.app_context():  # only the build: its notification row is pending, its job queued
        SimpleWorker([runtime.queue("builds")], connection=runtime.redis).work(burst=True)
    assert hook.requests == []
    assert Queue("notifications", connection=runtime.redis).count == 1
    Queue("notifications", connection=runtime.redis).empty()  # Redis lost the job
    assert requeue_pending(runtime, grace_seconds=0) != []
    assert requeue_pending(runtime, grace_seconds=0) == []  # its job exists now: not twice
    work(app)
    assert len(hook.requests) == 1
    assert json.loads(hook.requests[0][1])["event"] == "staged"
