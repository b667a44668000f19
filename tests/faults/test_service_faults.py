"""Faults of the services around Lockmaster: Redis, the registry, PostgreSQL.

Every service broken here is one the test started itself (own ports, own files); the shared
ones are never touched. Outcomes are read from the API, the registry and the database."""

from __future__ import annotations

import uuid

from sqlalchemy import func, select

from devstack.services import REGISTRY_ADDR
from record.models import Build, Delivery
from tests.support.buildhelpers import build_of, push, start_worker, stop_worker, wait_for
from tests.support.owned import OwnPostgres, OwnRedis
from tests.support.registryproxy import Faults, RegistryProxy
from tests.support.stack import post_github, registry_get, repo_entry

FINAL = {"staged", "failed", "rejected", "cancelled", "superseded"}


def _count(app, model) -> int:
    with app.extensions["lockmaster"].db.session() as session:
        return session.scalar(select(func.count()).select_from(model))


def _drain(app, tmp_path, name: str) -> None:
    worker = start_worker(app, tmp_path / f"{name}.log", "--burst")
    try:
        assert worker.wait(timeout=180) == 0
    finally:
        stop_worker(worker)


def test_redis_down_at_webhook_time_is_503_and_the_redelivery_builds_once(
        make_app, source_repo, secret, tmp_path):
    """Injects: the installation's Redis stopped while a push webhook arrives."""
    redis = OwnRedis(tmp_path / "redis").start()
    try:
        app = make_app([repo_entry(source_repo)], redis=redis.url)
        client = app.test_client()
        redis.stop()
        payload = source_repo.payload()
        refused = post_github(client, payload, secret, delivery="d-1")
        assert refused.status_code == 503
        assert "Redis" in refused.get_json()["error"]
        assert (_count(app, Build), _count(app, Delivery)) == (0, 0)
        redis.start()
        accepted = post_github(client, payload, secret, delivery="d-1")
        assert accepted.status_code == 202
        again = post_github(client, payload, secret, delivery="d-1")
        assert again.get_json() == accepted.get_json()
        _drain(app, tmp_path, "worker")
        build_id = accepted.get_json()["builds"][0]["id"]
        assert build_of(client, build_id)["status"] == "staged"
        assert _count(app, Build) == 1
    finally:
        redis.stop()


def _via(proxy: RegistryProxy, registry_prefix: str) -> dict:
    return {"url": proxy.address, "insecure": True, "staging": f"{registry_prefix}/staging",
            "production": f"{registry_prefix}/production"}


def test_registry_answering_500_on_push_fails_clearly_and_a_retry_succeeds(
        make_app, source_repo, secret, registry_prefix, tmp_path):
    """Injects: a registry (a proxy in front of the real one) that answers 500 to every
    manifest PUT, then heals."""
    faults = Faults(manifest_put_errors=1000)
    with RegistryProxy(faults) as proxy:
        app = make_app([repo_entry(source_repo)], registry=_via(proxy, registry_prefix))
        client = app.test_client()
        response = post_github(client, source_repo.payload(), secret)
        build_id = response.get_json()["builds"][0]["id"]
        _drain(app, tmp_path, "failing")
        build = build_of(client, build_id)
        assert (build["status"], build["failed_stage"], build["image"]) == \
            ("failed", "push", None)
        assert "after 3 attempts" in build["error"] and "500" in build["error"], build["error"]
        manifest_puts = [s for s in faults.seen if s.startswith("PUT") and "/manifests/" in s]
        assert len(manifest_puts) >= 3
        tags = registry_get(f"{registry_prefix}/staging/acme/web/tags/list")
        assert tags.status_code == 404 or not tags.json().get("tags")
        faults.manifest_put_errors = 0
        retried = client.post(f"/api/v1/builds/{build_id}/retry").get_json()["id"]
        _drain(app, tmp_path, "healed")
        build = build_of(client, retried)
        assert build["status"] == "staged", build["error"]
        served = registry_get(f"{registry_prefix}/staging/acme/web/manifests/"
                              f"{build['image']['digest']}",
                              accept=response.headers.get("Content-Type"))
        assert served.status_code == 200
    assert REGISTRY_ADDR not in build["image"]["repository"]


def test_a_redis_restart_between_deliveries_costs_no_delivery(make_app, source_repo, secret,
                                                               tmp_path):
    """Injects: Redis restarted while a web process keeps its intake connection (the first
    delivery after the restart finds that connection closed: it must connect again, not 503)."""
    redis = OwnRedis(tmp_path / "redis").start()
    try:
        app = make_app([repo_entry(source_repo)], redis=redis.url)
        client = app.test_client()
        first = post_github(client, source_repo.payload(), secret, delivery="before-restart")
        assert first.status_code == 202
        redis.stop()
        redis.start()
        source_repo.commit({"app/after.txt": "after the restart"})
        second = post_github(client, source_repo.payload(), secret, delivery="after-restart")
        assert second.status_code == 202, second.get_json()
        before, after = (response.get_json()["builds"][0]["id"] for response in (first, second))
        _drain(app, tmp_path, "worker")
        assert build_of(client, after)["status"] == "staged"
        assert build_of(client, before)["status"] == "superseded"  # the newer push to main won
    finally:
        redis.stop()


def test_registry_down_during_push_fails_clearly(make_app, source_repo, secret, registry_prefix,
                                                 tmp_path):
    """Injects: nothing listening on the registry's address when the build pushes."""
    proxy = RegistryProxy()
    proxy.server.server_close()  # the port is taken from the system, then nobody listens
    app = make_app([repo_entry(source_repo)], registry=_via(proxy, registry_prefix))
    client = app.test_client()
    build_id = post_github(client, source_repo.payload(), secret).get_json()["builds"][0]["id"]
    _drain(app, tmp_path, "worker")
    build = build_of(client, build_id)
    assert (build["status"], build["failed_stage"], build["image"]) == ("failed", "push", None)
    assert "after 3 attempts" in build["error"], build["error"]


def _slow_commit(source_repo, base_image, seconds: int) -> str:
    marker = f"started-{uuid.uuid4().hex}"
    source_repo.commit({"Dockerfile": f"FROM {base_image}\nCOPY app.txt /app.txt\n"
                                      f"RUN echo {marker} && sleep {seconds} && echo done\n"},
                       "A slow build")
    return marker


def _finished(client, build_id: str) -> dict | None:
    build = build_of(client, build_id)
    return build if build["status"] in FINAL else None


def _history(build: dict) -> list[str]:
    return [h["status"] for h in build["history"]]


def test_redis_restarted_with_builds_queued_and_running_recovers_and_builds_each_once(
        make_app, source_repo, secret, base_image, tmp_path):
    """Injects: a restart of the installation's Redis (AOF persistence) while one build runs
    and two wait in the queue."""
    redis = OwnRedis(tmp_path / "redis").start()
    worker = None
    try:
        app = make_app([repo_entry(source_repo, branches=["release/*"])], redis=redis.url)
        client = app.test_client()
        marker = _slow_commit(source_repo, base_image, 6)
        ids = [push(client, source_repo, secret, ref="refs/heads/release/0")]
        for n in (1, 2):
            source_repo.commit({"app.txt": f"commit {n}\n"}, f"Commit {n}")
            ids.append(push(client, source_repo, secret, ref=f"refs/heads/release/{n}"))
        worker = start_worker(app, tmp_path / "worker.log")
        wait_for(lambda: marker in client.get(f"/api/v1/builds/{ids[0]}/log").text, 60,
                 "the first build's RUN step to start")
        redis.stop()
        redis.start()
        builds = [wait_for(lambda b=b: _finished(client, b), 120, f"build {b} to end")
                  for b in ids]
        assert worker.poll() is None
    finally:
        if worker is not None:
            stop_worker(worker)
        redis.stop()
    assert [b["status"] for b in builds] == ["staged"] * 3, [b["error"] for b in builds]
    assert [_history(b).count("pushing") for b in builds] == [1, 1, 1]
    assert [_history(b).count("cloning") for b in builds[1:]] == [1, 1]


def test_postgresql_restarted_during_a_build_leaves_no_stuck_build(
        make_app, source_repo, secret, base_image, tmp_path):
    """Injects: a fast restart of the installation's PostgreSQL (every connection dropped)
    while a build's RUN step runs."""
    postgres = OwnPostgres(tmp_path / "pg").start()
    worker = None
    try:
        app = make_app([repo_entry(source_repo)], database=postgres.url)
        client = app.test_client()
        marker = _slow_commit(source_repo, base_image, 6)
        build_id = push(client, source_repo, secret)
        worker = start_worker(app, tmp_path / "worker.log")
        wait_for(lambda: marker in client.get(f"/api/v1/builds/{build_id}/log").text, 60,
                 "the RUN step to start")
        postgres.stop()
        postgres.start()
        build = wait_for(lambda: _finished(client, build_id), 120, "the build to end")
        assert worker.poll() is None
        assert build["status"] == "staged", build["error"]
        assert _history(build).count("pushing") == 1
    finally:
        if worker is not None:
            stop_worker(worker)
        app.extensions["lockmaster"].db.engine.dispose()
        postgres.stop()
