"""The recorder behind webhook intake: what reaches the database, once, whatever dies when."""

from __future__ import annotations

import json

import pytest
import requests
from rq import Queue
from sqlalchemy import func, select

from builder.reconcile import end_build
from devstack.gitpush import signed_headers
from record.models import Build, Delivery
from record.triggers import BuildTrigger
from states import BuildStatus
from tests.support.buildhelpers import start_worker, stop_worker, wait_for
from tests.support.stack import post_github, repo_entry
from tests.support.webserver import gunicorn
from webhooks.admit import PROVIDERS, admit
from webhooks.intake_stream import GROUP, STREAM
from webhooks.recorder import record_all
from webhooks.recorder.write import claim_abandoned, ensure_group, pending


@pytest.fixture
def app(make_app, source_repo):
    """Builds main and b* branches of source_repo."""
    return make_app([repo_entry(source_repo, branches=["main", "b*"])], recorder=False)


@pytest.fixture
def recorded(make_app, source_repo):
    """The same installation with the real recorder running (what a worker runs beside it)."""
    return make_app([repo_entry(source_repo, branches=["main", "b*"])])


def _count(runtime, model, *where) -> int:
    with runtime.db.session() as session:
        return session.scalar(select(func.count()).select_from(model).where(*where))


def _build_jobs(runtime) -> list[str]:
    return [j for j in Queue("builds", connection=runtime.redis).job_ids if j.startswith("build-")]


def _admit(app, source_repo, secret, delivery: str, **payload_args):
    """What the webhook view does, without a recorder writing the rows afterwards."""
    body = json.dumps(source_repo.payload(**payload_args)).encode()
    runtime = app.extensions["lockmaster"]
    with app.app_context():
        return admit(runtime, PROVIDERS["github"],
                     signed_headers(body, secret, delivery=delivery), body)


def test_an_answered_delivery_waits_in_the_stream_until_recorded(app, source_repo, secret):
    runtime = app.extensions["lockmaster"]
    outcome = _admit(app, source_repo, secret, "d-1")
    assert outcome.status == 202
    build_id = outcome.body["builds"][0]["id"]
    assert outcome.body["builds"][0]["status"] == "queued"
    assert pending(runtime) == 1 and _count(runtime, Build) == 0
    record_all(runtime)
    assert pending(runtime) == 0
    with runtime.db.session() as session:
        build = session.get(Build, build_id)
        assert (build.status, build.commit_sha) == ("queued", source_repo.head)
    assert _build_jobs(runtime) == [f"build-{build_id}"]


def test_entries_a_dead_recorder_had_read_are_recorded_by_another(app, source_repo, secret):
    runtime = app.extensions["lockmaster"]
    ids = [_admit(app, source_repo, secret, f"d-{n}", ref=f"refs/heads/b{n}").body
           for n in range(3)]
    ensure_group(runtime)
    read = runtime.redis.xreadgroup(GROUP, "dead-recorder", {STREAM: ">"}, count=10)
    assert len(read[0][1]) == 3  # read, never acknowledged: the recorder died here
    assert claim_abandoned(runtime, "live-recorder", min_idle_ms=0) == 3
    assert pending(runtime) == 0
    # One commit on three branches: one build carrying the three refs, queued once.
    assert [b["builds"][0]["status"] for b in ids] == ["queued", "joined", "joined"]
    assert _count(runtime, Build) == 1 and _count(runtime, Delivery) == 3
    assert _count(runtime, BuildTrigger) == 3
    assert _build_jobs(runtime) == [f"build-{ids[0]['builds'][0]['id']}"]


def test_an_entry_recorded_twice_makes_nothing_twice(app, source_repo, secret):
    """A recorder that died after its commit but before acknowledging: the entry comes again."""
    runtime = app.extensions["lockmaster"]
    _admit(app, source_repo, secret, "d-1")
    [(_id, fields)] = runtime.redis.xrange(STREAM)
    record_all(runtime)
    runtime.redis.xadd(STREAM, fields)  # the same entry, handed out again
    record_all(runtime)
    assert _count(runtime, Build) == 1 and _count(runtime, Delivery) == 1
    assert _count(runtime, BuildTrigger) == 1
    assert len(_build_jobs(runtime)) == 1


def test_a_redelivery_after_redis_forgot_the_delivery_builds_nothing(recorded, source_repo, secret):
    runtime, client = recorded.extensions["lockmaster"], recorded.test_client()
    first = post_github(client, source_repo.payload(), secret, delivery="d-1")
    assert first.status_code == 202
    for key in runtime.redis.scan_iter("lockmaster:*"):  # Redis lost its memory (no AOF)
        if not key.startswith(b"lockmaster:intake"):
            runtime.redis.delete(key)
    again = post_github(client, source_repo.payload(), secret, delivery="d-1")
    assert again.status_code == 202
    assert _count(runtime, Build) == 1 and _count(runtime, Delivery) == 1


def test_a_failed_build_pushed_again_builds_afresh(recorded, source_repo, secret):
    runtime, client = recorded.extensions["lockmaster"], recorded.test_client()
    first = post_github(client, source_repo.payload(), secret, delivery="d-1").get_json()
    failed_id = first["builds"][0]["id"]
    end_build(runtime, failed_id, BuildStatus.FAILED, "worker lost")
    again = post_github(client, source_repo.payload(), secret, delivery="d-2").get_json()
    assert again["builds"][0]["status"] == "queued"
    assert again["builds"][0]["id"] != failed_id
    assert _count(runtime, Build, Build.status == "queued") == 1


def test_a_failed_build_redis_still_offers_is_built_again(recorded, source_repo, secret):
    """If the end of a build could not reach Redis, the next push is answered with the old
    build, but the recorder sees it ended and builds the commit again."""
    runtime, client = recorded.extensions["lockmaster"], recorded.test_client()
    first = post_github(client, source_repo.payload(), secret, delivery="d-1").get_json()
    failed_id = first["builds"][0]["id"]
    with runtime.db.session() as session:
        session.get(Build, failed_id).status = "failed"
    post_github(client, source_repo.payload(), secret, delivery="d-2")
    with runtime.db.session() as session:
        fresh = session.scalar(select(Build).where(Build.status == "queued"))
        assert fresh is not None and fresh.id != failed_id
        assert fresh.commit_sha == source_repo.head
        delivery = session.scalar(select(Delivery).where(Delivery.delivery_id == "d-2"))
        assert [t.build_id for t in delivery.triggers] == [fresh.id]
    third = post_github(client, source_repo.payload(), secret, delivery="d-3").get_json()
    assert third["builds"] == [{"id": fresh.id, "status": "joined",
                                "url": f"/api/v1/builds/{fresh.id}"}]


def test_a_worker_runs_a_recorder_and_takes_it_down_with_it(app, source_repo, secret, tmp_path):
    runtime = app.extensions["lockmaster"]
    worker = start_worker(app, tmp_path / "worker.log")
    try:
        body = json.dumps(source_repo.payload(ref="refs/heads/other")).encode()
        with gunicorn(runtime.settings) as base:
            answer = requests.post(f"{base}/webhooks/github", data=body, timeout=30,
                                   headers=signed_headers(body, secret, delivery="d-1"))
        assert answer.status_code == 200  # a branch that does not build: recorded, ignored
        wait_for(lambda: _count(runtime, Delivery) == 1, 30, "the worker's recorder")
        assert pending(runtime) == 0
    finally:
        stop_worker(worker)


def test_a_build_named_in_a_202_can_be_read_at_once(app, client, source_repo, secret):
    """The API records what was answered but not yet recorded before saying 404."""
    runtime = app.extensions["lockmaster"]
    build_id = _admit(app, source_repo, secret, "d-1").body["builds"][0]["id"]
    assert pending(runtime) == 1
    answer = client.get(f"/api/v1/builds/{build_id}")
    assert answer.status_code == 200 and answer.get_json()["status"] == "queued"
    assert client.get(f"/api/v1/builds/{build_id}/log").status_code == 200
    assert client.get("/api/v1/builds/0190c3e2-0000-7000-8000-000000000000").status_code == 404
