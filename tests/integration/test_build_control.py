"""Cancel, retry, live logs and worker shutdowns, with a real `lockmaster worker` process."""

import uuid

import pytest
from click.testing import CliRunner

from app import cli
from tests.support.buildhelpers import (
    assert_no_container_left,
    assert_no_step_left,
    build_log,
    build_of,
    kill_worker_and_horse,
    lockmaster_env,
    push,
    reconciled,
    start_worker,
    started_containers,
    stop_worker,
    wait_for,
)
from tests.support.stack import registry_get, repo_entry, work


@pytest.fixture
def slow_build(source_repo, base_image):
    """Make HEAD a commit whose build prints a marker, then sleeps `seconds`."""

    def commit(seconds: int) -> str:
        marker = f"started-{uuid.uuid4().hex}"
        source_repo.commit({"Dockerfile": f"FROM {base_image}\nCOPY app.txt /app.txt\n"
                                          f"RUN echo {marker} && sleep {seconds} && echo done\n"},
                           "A slow build")
        return marker

    return commit




def _status(client, build_id: str, wanted: str):
    build = build_of(client, build_id)
    return build if build["status"] == wanted else None


@pytest.mark.parametrize("builder", ["buildkit", "legacy"])
def test_cancel_mid_build_stops_it_on_the_engine_and_nothing_is_pushed(
        make_app, source_repo, secret, slow_build, tmp_path, registry_prefix, builder):
    app = make_app([repo_entry(source_repo, builder=builder)])
    client = app.test_client()
    marker = slow_build(60)
    build_id = push(client, source_repo, secret)
    worker = start_worker(app, tmp_path / "worker.log", "--burst")
    try:
        wait_for(lambda: marker in build_log(client, build_id), 60, "the RUN step to start")
        response = client.post(f"/api/v1/builds/{build_id}/cancel")
        assert response.status_code == 202, response.get_json()
        assert response.get_json()["cancelled_by"] == "api-tests"
        build = wait_for(lambda: _status(client, build_id, "cancelled"), 30, "cancelled")
        worker.wait(timeout=30)
    finally:
        stop_worker(worker)
    assert build["cancelled_by"] == "api-tests" and build["image"] is None
    assert build["failed_stage"] == "build"
    log = build_log(client, build_id)
    assert "STOPPED during build: cancelled" in log and "\ndone\n" not in log
    assert_no_step_left(log, marker)
    assert registry_get(f"{registry_prefix}/staging/acme/web/tags/list").status_code == 404
    again = client.post(f"/api/v1/builds/{build_id}/cancel")
    assert again.status_code == 409 and "already ended" in again.get_json()["error"]


def test_a_queued_build_is_cancelled_at_once_and_a_retry_builds_the_same_commit(
        app, client, source_repo, secret):
    build_id = push(client, source_repo, secret)
    assert client.post(f"/api/v1/builds/{build_id}/retry").status_code == 409
    # The token says who asks: neither a `by` field nor X-Lockmaster-User can say otherwise.
    cancelled = client.post(f"/api/v1/builds/{build_id}/cancel", json={"by": "dave"},
                            headers={"X-Lockmaster-User": "dave"})
    assert cancelled.status_code == 200
    assert cancelled.get_json()["status"] == "cancelled"
    work(app)
    old = build_of(client, build_id)
    assert (old["status"], old["cancelled_by"]) == ("cancelled", "api-tests")
    assert [h["status"] for h in old["history"]] == ["queued", "cancelled"]

    retried = client.post(f"/api/v1/builds/{build_id}/retry")
    assert retried.status_code == 201
    new_id = retried.get_json()["id"]
    assert new_id != build_id and retried.get_json()["retry_of"] == build_id
    work(app)
    new = build_of(client, new_id)
    assert new["status"] == "staged", new["error"]
    assert new["retry_of"] == build_id
    assert new["commit"] == old["commit"] and new["ref"] == old["ref"]
    assert client.post("/api/v1/builds/nope/retry").status_code == 404
    assert client.post("/api/v1/builds/nope/cancel").status_code == 404


def test_cancel_and_retry_from_the_command_line(app, client, source_repo, secret):
    build_id = push(client, source_repo, secret)
    runner = CliRunner()
    env = {**lockmaster_env(app), "LOCKMASTER_USER": "frank"}
    result = runner.invoke(cli, ["cancel", build_id], env=env)
    assert result.exit_code == 0, result.output
    assert f"build {build_id} cancelled by frank" in result.output
    refused = runner.invoke(cli, ["cancel", build_id], env=env)
    assert refused.exit_code == 1 and "already ended (cancelled)" in refused.output
    retried = runner.invoke(cli, ["retry", build_id], env=env)
    assert retried.exit_code == 0, retried.output
    new_id = retried.output.strip()
    assert build_of(client, new_id)["retry_of"] == build_id
    work(app)
    logs = runner.invoke(cli, ["logs", "-f", new_id], env=env)
    assert logs.exit_code == 0 and "staged 127.0.0.1:5000/" in logs.output


def test_log_follow_streams_lines_while_the_build_runs(app, client, source_repo, secret,
                                                       slow_build, tmp_path):
    marker = slow_build(2)
    build_id = push(client, source_repo, secret)
    worker = start_worker(app, tmp_path / "worker.log", "--burst")
    try:
        response = client.get(f"/api/v1/builds/{build_id}/log?follow=1", buffered=False)
        assert response.mimetype == "text/event-stream"
        events, status_when_marker_arrived = [], None
        for chunk in response.response:
            text = chunk.decode() if isinstance(chunk, bytes) else chunk
            if text.startswith(":"):  # a comment: the opening one, or a keep-alive
                continue
            events.append(text)
            if marker in text and status_when_marker_arrived is None:
                status_when_marker_arrived = build_of(client, build_id)["status"]
        worker.wait(timeout=30)
    finally:
        stop_worker(worker)
    assert status_when_marker_arrived == "building"
    lines = [e.split("\n", 1) for e in events[:-1]]  # each line: its id, then its data
    assert all(key.startswith("id: ") for key, _data in lines)
    assert any(data.startswith("data: ") and data.endswith(f"{marker}\n\n")
               for _key, data in lines)
    assert events[-1] == 'event: end\ndata: {"status": "staged"}\n\n'
    assert any(data.startswith("data: staged 127.0.0.1:5000/") for _key, data in lines)


def test_sigkill_of_a_worker_mid_build_is_reconciled(app, client, source_repo, secret,
                                                     slow_build, tmp_path):
    marker = slow_build(4)
    build_id = push(client, source_repo, secret)
    worker = start_worker(app, tmp_path / "worker.log")
    try:
        wait_for(lambda: marker in build_log(client, build_id), 60, "the RUN step to start")
    finally:
        kill_worker_and_horse(worker)
    # The solve dies with the worker (the step would sleep on for seconds).
    assert_no_step_left(build_log(client, build_id), marker, seconds=2)
    containers = started_containers(build_log(client, build_id))
    output = reconciled(app, build_id)
    assert "re-queued (its worker was gone)" in output
    assert_no_container_left(containers)
    work(app)
    build = build_of(client, build_id)
    assert build["status"] == "staged", build["error"]
    statuses = [h["status"] for h in build["history"]]
    assert statuses.count("pushing") == 1 and statuses.count("cloning") == 2


def test_a_newer_push_stops_the_running_build_of_its_ref_when_configured(
        make_app, source_repo, secret, slow_build, tmp_path):
    app = make_app([repo_entry(source_repo, supersede_running=True)])
    client = app.test_client()
    marker = slow_build(60)
    older = push(client, source_repo, secret)
    worker = start_worker(app, tmp_path / "worker.log", "--burst")
    try:
        wait_for(lambda: marker in build_log(client, older), 60, "the RUN step to start")
        source_repo.commit({"Dockerfile": (source_repo.path / "Dockerfile").read_text()
                            .replace("sleep 60", "sleep 0")}, "Fix the slow step")
        newer = push(client, source_repo, secret)
        stopped = wait_for(lambda: _status(client, older, "cancelled"), 30, "cancelled")
        staged = wait_for(lambda: _status(client, newer, "staged"), 120, "the newer build")
        worker.wait(timeout=30)
    finally:
        stop_worker(worker)
    assert stopped["cancelled_by"] == f"superseded by build {newer}"
    assert stopped["image"] is None and staged["image"]["tags"][-1] == "main"
    assert_no_step_left(build_log(client, older), marker)


def test_without_the_setting_a_running_build_is_left_to_finish(app, client, source_repo,
                                                               secret, slow_build, tmp_path):
    marker = slow_build(3)
    older = push(client, source_repo, secret)
    worker = start_worker(app, tmp_path / "worker.log", "--burst")
    try:
        wait_for(lambda: marker in build_log(client, older), 60, "the RUN step to start")
        source_repo.commit({"app.txt": "newer\n"}, "Newer")
        newer = push(client, source_repo, secret)
        wait_for(lambda: _status(client, newer, "staged"), 120, "the newer build")
        worker.wait(timeout=30)
    finally:
        stop_worker(worker)
    assert build_of(client, older)["status"] == "staged"
