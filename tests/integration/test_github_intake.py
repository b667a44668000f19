"""POST /webhooks/github: what the Git host sees, and what is (not) recorded and queued."""

import json

from rq import Queue
from sqlalchemy import func, select

from record.models import Build, Delivery
from tests.support.stack import post_github, repo_entry


def _count(app, model) -> int:
    with app.extensions["lockmaster"].db.session() as session:
        return session.scalar(select(func.count()).select_from(model))


def _queued_jobs(app) -> int:
    runtime = app.extensions["lockmaster"]
    return len(Queue("builds", connection=runtime.redis))


def test_a_signed_push_is_accepted_queued_and_recorded(app, client, source_repo, secret):
    response = post_github(client, source_repo.payload(), secret)
    assert response.status_code == 202
    (build,) = response.get_json()["builds"]
    assert build["status"] == "queued"
    assert build["url"] == f"/api/v1/builds/{build['id']}"
    assert _queued_jobs(app) == 1
    record = client.get(build["url"]).get_json()
    assert record["commit"]["sha"] == source_repo.head
    assert record["commit"]["author"] == "Alice Author"
    assert record["commit"]["message"] == "Initial version"
    assert (record["repository"], record["ref"], record["pusher"]) == (
        "acme/web", "refs/heads/main", "bob")


def test_a_redelivery_returns_the_same_build_and_queues_nothing_more(app, client, source_repo,
                                                                     secret):
    first = post_github(client, source_repo.payload(), secret, delivery="d-1")
    again = post_github(client, source_repo.payload(), secret, delivery="d-1")
    assert first.status_code == 202 and again.status_code == 202
    assert again.get_json() == first.get_json()
    assert _count(app, Build) == 1
    assert _queued_jobs(app) == 1


def test_a_bad_signature_is_401_with_no_build_and_no_job(app, client, source_repo, secret):
    response = post_github(client, source_repo.payload(), "not-the-secret")
    assert response.status_code == 401
    assert "signature" in response.get_json()["error"]
    assert _count(app, Build) == 0
    assert _queued_jobs(app) == 0


def test_a_missing_signature_is_401(app, client, source_repo, secret):
    body = json.dumps(source_repo.payload()).encode()
    response = client.post("/webhooks/github", data=body, headers={
        "X-GitHub-Event": "push", "X-GitHub-Delivery": "x", "Content-Type": "application/json"})
    assert response.status_code == 401
    assert _count(app, Build) == 0


def test_a_forged_delivery_does_not_block_the_real_one(app, client, source_repo, secret):
    forged = post_github(client, source_repo.payload(), "wrong", delivery="same-id")
    real = post_github(client, source_repo.payload(), secret, delivery="same-id")
    assert (forged.status_code, real.status_code) == (401, 202)


def test_ping_and_other_events_are_answered_200_and_build_nothing(app, client, source_repo,
                                                                  secret):
    ping = post_github(client, {"zen": "Keep it simple.", "hook_id": 1,
                                "repository": {"full_name": "acme/web"}}, secret, event="ping")
    issue = post_github(client, {"action": "opened", "repository": {"full_name": "acme/web"}},
                        secret, event="issues")
    assert ping.status_code == 200 and "ping" in ping.get_json()["ignored"]
    assert issue.status_code == 200 and "issues" in issue.get_json()["ignored"]
    assert _count(app, Build) == 0 and _queued_jobs(app) == 0


def test_an_unconfigured_branch_is_ignored_and_recorded(app, client, source_repo, secret):
    response = post_github(client, source_repo.payload(ref="refs/heads/dev"), secret)
    assert response.status_code == 200
    assert "branch 'dev' is not configured" in response.get_json()["ignored"]
    with app.extensions["lockmaster"].db.session() as session:
        delivery = session.scalars(select(Delivery)).one()
        assert (delivery.outcome, delivery.ref) == ("ignored", "refs/heads/dev")
    assert _count(app, Build) == 0 and _queued_jobs(app) == 0


def test_a_branch_deletion_is_ignored_and_recorded(app, client, source_repo, secret):
    payload = source_repo.payload()
    payload.update(after="0" * 40, deleted=True, head_commit=None)
    response = post_github(client, payload, secret)
    assert response.status_code == 200
    assert "deleted" in response.get_json()["ignored"]
    assert _count(app, Build) == 0 and _count(app, Delivery) == 1


def test_malformed_json_with_a_valid_signature_is_400(app, client, source_repo, secret):
    response = post_github(client, None, secret, body=b'{"ref": "refs/heads/main",')
    assert response.status_code == 400
    assert "not valid JSON" in response.get_json()["error"]
    assert _count(app, Build) == 0


def test_a_push_without_required_fields_is_400(app, client, source_repo, secret):
    response = post_github(client, {"repository": {"full_name": "acme/web"}}, secret)
    assert response.status_code == 400
    assert "'ref'" in response.get_json()["error"]


def test_an_unknown_repository_is_404(app, client, source_repo, secret):
    response = post_github(client, source_repo.payload(full_name="acme/other"), secret)
    assert response.status_code == 404
    assert "acme/other" in response.get_json()["error"]
    unsigned = post_github(client, source_repo.payload(full_name="evil/repo"), "whatever")
    assert unsigned.status_code == 404
    assert _count(app, Build) == 0


def test_a_hostile_ref_is_refused_before_git(app, client, source_repo, secret):
    response = post_github(client, source_repo.payload(ref="refs/heads/../../x"), secret)
    assert response.status_code == 400
    assert _count(app, Build) == 0


def test_redis_down_answers_503_and_leaves_nothing_half_written(make_app, source_repo, secret):
    app = make_app([repo_entry(source_repo)], redis="redis://127.0.0.1:1/0")
    client = app.test_client()
    response = post_github(client, source_repo.payload(), secret, delivery="during-outage")
    assert response.status_code == 503
    assert "redeliver" in response.get_json()["error"]
    assert _count(app, Build) == 0 and _count(app, Delivery) == 0


def test_a_body_over_the_limit_is_413(make_app, source_repo, secret):
    app = make_app([repo_entry(source_repo)], webhooks={"max_body_mb": 1})
    body = b"{" + b" " * (1024 * 1024 + 10) + b"}"
    response = post_github(app.test_client(), None, secret, body=body)
    assert response.status_code == 413
    assert _count(app, Build) == 0
