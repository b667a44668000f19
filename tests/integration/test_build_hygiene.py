"""Repeated builds are cheap (mirror, layer cache), crash leftovers are settled, gc is careful."""

import os
import time
import uuid

import pytest
from click.testing import CliRunner
from docker.errors import ImageNotFound
from rq.job import Job
from sqlalchemy import update

from app import cli
from builder.dispatch import build_job_id, enqueue_build
from builder.gc import collect
from builder.reconcile import reconcile
from builder.source import LAST_USED
from builder.watchdog import ref_lock
from record.models import Build
from tests.support.buildhelpers import (
    build_of,
    lockmaster_env,
    push,
    start_worker,
    step_was_cached,
    stop_worker,
)
from tests.support.stack import registry_get, repo_entry, work


@pytest.fixture
def layered(source_repo, base_image):
    """Make HEAD a commit with a slow dependency step before the application code."""

    def commit(app_text: str) -> str:
        marker = f"deps-{uuid.uuid4().hex}"
        return source_repo.commit({
            "Dockerfile": f"FROM {base_image}\nRUN echo {marker} > /deps && sleep 1\n"
                          "COPY app.txt /app/app.txt\nRUN cat /app/app.txt\n",
            "app.txt": app_text}, "Layered build")

    return commit


def test_a_new_worker_reuses_layers_of_the_branch_last_staged_image(
        app, client, source_repo, secret, layered, docker_client, registry_prefix):
    layered("v1\n")
    first = push(client, source_repo, secret)
    work(app)
    assert build_of(client, first)["status"] == "staged"
    staging = f"127.0.0.1:5000/{registry_prefix}/staging/acme/web"
    for image in docker_client.images.list(name=staging):  # as if this worker never built it
        for tag in image.tags:
            docker_client.images.remove(tag)
    source_repo.commit({"app.txt": "v2\n"}, "Only application code")
    second = push(client, source_repo, secret)
    work(app)
    assert build_of(client, second)["status"] == "staged"
    log = client.get(f"/api/v1/builds/{second}/log").text
    assert f"using {staging}:main as the layer cache" in log
    assert step_was_cached(log, "RUN echo deps-")


def test_the_engine_keeps_the_branch_tag_of_the_image_it_staged(
        app, client, source_repo, secret, docker_client, registry_prefix):
    build_id = push(client, source_repo, secret)
    work(app)
    build = build_of(client, build_id)
    assert build["status"] == "staged", build["error"]
    staging = f"127.0.0.1:5000/{registry_prefix}/staging/acme/web"
    local = docker_client.images.get(f"{staging}:main")
    assert f"{staging}@{build['image']['digest']}" in local.attrs["RepoDigests"]
    assert {f"{staging}:{tag}" for tag in build["image"]["tags"]} <= set(local.tags)


def test_the_mirror_cache_serves_a_rebuild_of_a_commit(app, client, source_repo, secret):
    first = push(client, source_repo, secret)
    work(app)
    retry = client.post(f"/api/v1/builds/{first}/retry").get_json()["id"]
    work(app)
    assert build_of(client, retry)["status"] == "staged"
    assert "is already in the mirror cache" in client.get(f"/api/v1/builds/{retry}/log").text
    mirrors = app.extensions["lockmaster"].settings.mirror_dir
    assert len(list(mirrors.glob("*.git"))) == 1


def test_one_running_build_per_repository_and_ref(app, client, source_repo, secret, layered,
                                                  tmp_path):
    layered("a\n")
    first = push(client, source_repo, secret)
    workers = [start_worker(app, tmp_path / "worker1.log", "--burst")]
    try:
        # The second push must come while the first runs: a queued one would be superseded.
        deadline = time.monotonic() + 120
        while build_of(client, first)["status"] not in ("building", "checking", "pushing"):
            assert time.monotonic() < deadline, build_of(client, first)
            time.sleep(0.1)
        source_repo.commit({"app.txt": "b\n"}, "Second")
        second = push(client, source_repo, secret)
        workers.append(start_worker(app, tmp_path / "worker2.log", "--burst"))
        for worker in workers:
            worker.wait(timeout=120)
    finally:
        for worker in workers:
            stop_worker(worker)
    builds = sorted((build_of(client, b) for b in (first, second)),
                    key=lambda b: b["stages"]["clone"]["started_at"])
    assert [b["status"] for b in builds] == ["staged", "staged"]
    assert builds[0]["stages"]["push"]["finished_at"] <= builds[1]["stages"]["clone"]["started_at"]
    waited = client.get(f"/api/v1/builds/{builds[1]['id']}/log").text
    assert "waiting for the running build of refs/heads/main to finish" in waited


def test_a_queued_build_whose_job_vanished_is_requeued(app, client, source_repo, secret):
    runtime = app.extensions["lockmaster"]
    build_id = push(client, source_repo, secret)
    Job.fetch(build_job_id(build_id), connection=runtime.redis).delete()
    assert reconcile(runtime) == []  # a webhook may still be about to enqueue it
    (settled,) = reconcile(runtime, grace_seconds=0)
    assert (settled.build_id, settled.action) == (build_id, "re-queued (its job had vanished)")
    work(app)
    assert build_of(client, build_id)["status"] == "staged"


def test_a_build_lost_during_push_fails_and_is_never_pushed_again(app, client, source_repo,
                                                                   secret, registry_prefix):
    runtime = app.extensions["lockmaster"]
    build_id = push(client, source_repo, secret)
    Job.fetch(build_job_id(build_id), connection=runtime.redis).delete()
    with runtime.db.session() as session:
        session.execute(update(Build).where(Build.id == build_id).values(status="pushing"))
    (settled,) = reconcile(runtime)
    assert settled.action == "failed: worker lost"
    enqueue_build(runtime, build_id)  # RQ may still run a job twice
    work(app)
    build = build_of(client, build_id)
    assert (build["status"], build["error"], build["failed_stage"]) == (
        "failed", "worker lost", "push")
    assert registry_get(f"{registry_prefix}/staging/acme/web/tags/list").status_code == 404


def test_gc_removes_only_what_this_installation_no_longer_needs(
        make_app, source_repo, secret, docker_client, base_image, registry_prefix, tmp_path):
    app = make_app([repo_entry(source_repo)], gc={"keep_images": 1, "mirror_max_age_days": 1})
    client = app.test_client()
    old_sha = source_repo.head
    push(client, source_repo, secret)
    work(app)
    source_repo.commit({"app.txt": "newer\n"}, "Newer")
    push(client, source_repo, secret)
    work(app)
    staging = f"127.0.0.1:5000/{registry_prefix}/staging/acme/web"
    foreign = f"lockmaster-test-foreign/{registry_prefix}:keep"
    docker_client.images.get(base_image).tag(foreign)
    mirrors = app.extensions["lockmaster"].settings.mirror_dir
    stale = mirrors / "stale-000000000000.git"
    (stale / "objects").mkdir(parents=True)
    (stale / LAST_USED).touch()
    os.utime(stale / LAST_USED, (time.time() - 3 * 86400,) * 2)
    try:
        runtime = app.extensions["lockmaster"]
        planned = collect(runtime, dry_run=True)
        assert planned["old local images"] == [f"{staging}:{old_sha[:12]}"]
        assert planned["mirrors"] == [str(stale)]
        docker_client.images.get(f"{staging}:{old_sha[:12]}")  # a dry run removes nothing
        shown = CliRunner().invoke(cli, ["gc", "--dry-run"], env=lockmaster_env(app))
        assert shown.exit_code == 0, shown.output
        assert f"would remove 1 old local images\n  {staging}:{old_sha[:12]}" in shown.output
        collect(runtime)
        with pytest.raises(ImageNotFound):
            docker_client.images.get(f"{staging}:{old_sha[:12]}")
        docker_client.images.get(f"{staging}:main")
        docker_client.images.get(foreign)
        docker_client.images.get(base_image)
        assert not stale.exists() and len(list(mirrors.glob("*.git"))) == 1
        tag = registry_get(f"{registry_prefix}/staging/acme/web/manifests/{old_sha[:12]}",
                           accept="application/vnd.docker.distribution.manifest.v2+json")
        assert tag.status_code == 200  # the registry keeps every staged image
    finally:
        docker_client.images.remove(foreign)


def test_the_worker_reconciles_a_build_whose_worker_vanished(app, client, source_repo, secret,
                                                             tmp_path):
    runtime = app.extensions["lockmaster"]
    build_id = push(client, source_repo, secret)
    Job.fetch(build_job_id(build_id), connection=runtime.redis).delete()
    with runtime.db.session() as session:  # as a worker killed mid-build leaves it
        session.execute(update(Build).where(Build.id == build_id).values(status="building"))
    worker = start_worker(app, tmp_path / "worker.log", "--burst")
    try:
        assert worker.wait(timeout=120) == 0
    finally:
        stop_worker(worker)
    build = build_of(client, build_id)
    assert build["status"] == "staged", build["error"]
    assert "reconcile: build" in (tmp_path / "worker.log").read_text()


def test_cancelling_a_build_whose_worker_is_gone_is_finished_by_reconcile(app, client,
                                                                          source_repo, secret):
    runtime = app.extensions["lockmaster"]
    build_id = push(client, source_repo, secret)
    Job.fetch(build_job_id(build_id), connection=runtime.redis).delete()
    with runtime.db.session() as session:
        session.execute(update(Build).where(Build.id == build_id).values(status="building"))
    # `by` does not say who cancels: the token does.
    response = client.post(f"/api/v1/builds/{build_id}/cancel", json={"by": "gina"})
    assert response.status_code == 202 and response.get_json()["status"] == "building"
    (settled,) = reconcile(runtime)
    assert settled.action == "cancelled (its worker was gone)"
    build = build_of(client, build_id)
    assert (build["status"], build["cancelled_by"]) == ("cancelled", "api-tests")


def test_a_build_that_waits_longer_than_its_timeout_for_its_ref_fails_clearly(
        make_app, source_repo, secret):
    app = make_app([repo_entry(source_repo, timeout=2)])
    client = app.test_client()
    runtime = app.extensions["lockmaster"]
    holder = ref_lock(runtime.redis, "acme/web", "refs/heads/main")
    assert holder.acquire(blocking=False, token=b"another-build")
    build_id = push(client, source_repo, secret)
    work(app)
    build = build_of(client, build_id)
    assert (build["status"], build["failed_stage"]) == ("failed", "clone")
    assert build["error"] == ("waited 2s for the running build of refs/heads/main to finish; "
                              "retry this build")
    assert holder.owned()  # the other build's lock is untouched
