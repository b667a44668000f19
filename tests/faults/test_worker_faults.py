"""Faults of worker processes: several workers on one queue, kill -9, SIGTERM twice.

Each test starts real `lockmaster worker` processes and judges the outcome from the API and
the registry only."""

from __future__ import annotations

import signal
import time
import uuid

import pytest

from builder.reconcile import REQUEUED
from builder.workers import COLD_SHUTDOWN
from tests.support.buildhelpers import (
    assert_no_container_left,
    assert_no_step_left,
    build_log,
    build_of,
    kill_worker_and_horse,
    push,
    start_worker,
    started_containers,
    stop_worker,
    wait_for,
)
from tests.support.stack import registry_get, repo_entry


def _slow(source_repo, base_image, seconds: int) -> str:
    marker = f"started-{uuid.uuid4().hex}"
    source_repo.commit({"Dockerfile": f"FROM {base_image}\nCOPY app.txt /app.txt\n"
                                      f"RUN echo {marker} && sleep {seconds} && echo done\n"},
                       "A slow build")
    return marker




def _pushes(build: dict) -> int:
    return [h["status"] for h in build["history"]].count("pushing")


def _clones(build: dict) -> int:
    return [h["status"] for h in build["history"]].count("cloning")


@pytest.mark.parametrize("workers", [2, 4])
def test_workers_on_one_queue_build_every_queued_commit_once(
        make_app, source_repo, secret, base_image, registry_prefix, tmp_path, workers):
    """Injects: 30 commits queued (one per branch), then `workers` worker processes at once."""
    app = make_app([repo_entry(source_repo, branches=["release/*"])])
    client = app.test_client()
    ids = {}
    for n in range(30):
        source_repo.commit({"app.txt": f"commit {n}\n"}, f"Commit {n}")
        ids[n] = push(client, source_repo, secret, ref=f"refs/heads/release/{n}")
    processes = [start_worker(app, tmp_path / f"worker-{w}.log", "--burst")
                 for w in range(workers)]
    try:
        for process in processes:
            process.wait(timeout=240)
    finally:
        for process in processes:
            stop_worker(process)
    builds = [build_of(client, build_id) for build_id in ids.values()]
    assert [b["status"] for b in builds] == ["staged"] * 30, [b["error"] for b in builds]
    assert all(_pushes(b) == 1 and _clones(b) == 1 for b in builds)
    assert len({b["image"]["digest"] for b in builds}) == 30
    tags = registry_get(f"{registry_prefix}/staging/acme/web/tags/list").json()["tags"]
    for n in range(30):
        assert f"release-{n}" in tags


def test_kill_9_mid_build_is_settled_by_an_idle_worker_without_reconcile(
        app, client, source_repo, secret, base_image, tmp_path):
    """Injects: SIGKILL to the worker while the build's RUN step runs, with another worker
    idle on the queues (RQ keeps an idle worker waiting for minutes). Nobody runs
    `lockmaster reconcile`: the idle worker's periodic duties settle the build within two
    minutes, and it builds it again."""
    marker = _slow(source_repo, base_image, 12)
    build_id = push(client, source_repo, secret)
    workers = [start_worker(app, tmp_path / f"worker-{n}.log") for n in range(2)]
    try:
        wait_for(lambda: marker in build_log(client, build_id), 60, "the RUN step to start")
        (busy,) = wait_for(lambda: _workers(app, "busy"), 30, "the busy worker")
        wait_for(lambda: _workers(app, "idle"), 30, "the other worker to wait on the queues")
        kill_worker_and_horse(next(w for w in workers if w.pid == busy.pid))
        assert_no_step_left(build_log(client, build_id), marker, seconds=3)  # dies with it
        containers = started_containers(build_log(client, build_id))
        wait_for(lambda: REQUEUED in [h.get("reason") for h in build_of(client, build_id)[
            "history"]], 120, "an idle worker to settle the build of the killed one")
        assert_no_container_left(containers)
        wait_for(lambda: build_of(client, build_id)["status"] in ("staged", "failed"), 120,
                 "the re-queued build to end")
    finally:
        for worker in workers:
            stop_worker(worker)
    build = build_of(client, build_id)
    assert build["status"] == "staged", build["error"]
    assert (_pushes(build), _clones(build)) == (1, 2)


def _workers(app, state: str) -> list:
    from rq import Worker

    redis = app.extensions["lockmaster"].redis
    return [w for w in Worker.all(connection=redis) if w.get_state() == state]


def test_sigterm_finishes_the_build_and_a_second_sigterm_stops_and_records_it(
        app, client, source_repo, secret, base_image, tmp_path):
    """Injects: SIGTERM mid-build (warm: the build finishes), then on a second build SIGTERM
    twice (cold: the build is stopped and recorded as failed, its container removed)."""
    marker = _slow(source_repo, base_image, 2)
    first = push(client, source_repo, secret)
    worker = start_worker(app, tmp_path / "warm.log")
    try:
        wait_for(lambda: marker in build_log(client, first), 60, "the first RUN step to start")
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(timeout=60) == 0
    finally:
        stop_worker(worker)
    assert build_of(client, first)["status"] == "staged"
    marker = _slow(source_repo, base_image, 60)
    second = push(client, source_repo, secret)
    worker = start_worker(app, tmp_path / "cold.log")
    try:
        wait_for(lambda: marker in build_log(client, second), 60, "the second RUN step to start")
        worker.send_signal(signal.SIGTERM)
        time.sleep(1.5)  # RQ ignores a second signal within one second of the first
        worker.send_signal(signal.SIGTERM)
        worker.wait(timeout=60)
    finally:
        stop_worker(worker)
    build = build_of(client, second)
    assert (build["status"], build["error"]) == ("failed", COLD_SHUTDOWN)
    assert build["image"] is None
    assert_no_step_left(build_log(client, second), marker)
