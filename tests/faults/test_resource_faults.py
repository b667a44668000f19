"""Faults of resources: a full workspace disk, and a hostile Dockerfile.

One long-running `lockmaster worker` per test; the outcome is read from the API, the
registry and the engine, and the worker must still build a good commit afterwards."""

from __future__ import annotations

import contextlib
import os
import subprocess

import docker
import pytest

from devstack.services import registry_answers
from tests.support.buildhelpers import (
    assert_no_container_left,
    build_of,
    push,
    start_worker,
    started_containers,
    stop_worker,
    wait_for,
)
from tests.support.stack import repo_entry

FINAL = {"staged", "failed", "rejected", "cancelled"}


def _finished(client, build_id: str) -> dict:
    build = build_of(client, build_id)
    return build if build["status"] in FINAL else None


@contextlib.contextmanager
def _small_disk(folder, size: str = "1m"):
    """A tmpfs of `size` mounted on folder (we are root), unmounted afterwards."""
    folder.mkdir(parents=True, exist_ok=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)],
                   check=True)
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=True)


def test_a_full_workspace_disk_fails_the_build_clearly_and_the_worker_keeps_serving(
        app, client, source_repo, secret, tmp_path):
    """Injects: the workspace folder on a 1 MiB disk filled to its last few KiB."""
    workspaces = app.extensions["lockmaster"].settings.workspace_dir
    with _small_disk(workspaces) as disk:
        stat = os.statvfs(disk)
        filler = disk / "filler"
        filler.write_bytes(b"\0" * (stat.f_bavail * stat.f_frsize - 4096))
        worker = start_worker(app, tmp_path / "worker.log")
        try:
            build_id = push(client, source_repo, secret)
            build = wait_for(lambda: _finished(client, build_id), 60, "the build to end")
            assert (build["status"], build["failed_stage"]) == ("failed", "clone")
            assert build["error"].startswith(f"no space left on the disk of {workspaces}")
            assert sorted(p.name for p in disk.iterdir()) == ["filler"]  # workspace cleaned
            filler.unlink()
            source_repo.commit({"app.txt": "after the disk was freed\n"}, "Freed")
            again = push(client, source_repo, secret)
            build = wait_for(lambda: _finished(client, again), 60, "the second build to end")
            assert build["status"] == "staged", build["error"]
            assert worker.poll() is None
        finally:
            stop_worker(worker)


HOSTILE = {
    # A fork bomb left to spread for a few seconds; the step then fails (a bomb that lets
    # its step succeed would be turned away by the lint gate instead).
    "fork bomb": "RUN bomb() { bomb | bomb & }; bomb; sleep 5; exit 1",
    "memory hog": "RUN dd if=/dev/zero of=/dev/null bs=256M count=1",
    # `h` only prints help to the kernel log if it got through; it must not get through.
    "sysrq": "RUN echo h > /proc/sysrq-trigger",
    "host services": "RUN ls -l /var/run/docker.sock /run/docker.sock; "
                     "wget -q -T 3 -O- http://127.0.0.1:5000/v2/ && echo REACH''ED-registry; "
                     "printf 'PING\\r\\n' | nc -w 3 127.0.0.1 6379 && echo REACH''ED-redis; "
                     "exit 1",
}


@pytest.mark.parametrize("builder", ["buildkit", "legacy"])
def test_hostile_dockerfiles_are_contained_and_the_worker_and_host_survive(
        make_app, source_repo, secret, base_image, tmp_path, builder):
    """Injects: four Dockerfiles that attack the host (fork bomb, memory hog, sysrq, the
    Docker socket and the host's loopback services), built under memory, CPU and process
    limits with network none."""
    app = make_app([repo_entry(source_repo, memory="64m", cpus=0.5, pids=64, timeout=60,
                               builder=builder)])
    client = app.test_client()
    worker = start_worker(app, tmp_path / "worker.log")
    try:
        results = {}
        for name, step in HOSTILE.items():
            source_repo.commit({"Dockerfile": f"FROM {base_image}\n{step}\n"}, name)
            build_id = push(client, source_repo, secret)
            results[name] = wait_for(lambda b=build_id: _finished(client, b), 90, name)
            results[name]["log"] = client.get(f"/api/v1/builds/{build_id}/log").text
        source_repo.commit({"Dockerfile": f"FROM {base_image}\nCOPY app.txt /app.txt\n"},
                           "A good build after the hostile ones")
        good = push(client, source_repo, secret)
        assert wait_for(lambda: _finished(client, good), 90, "the good build")["status"] \
            == "staged"
        assert worker.poll() is None
    finally:
        stop_worker(worker)
    for name, build in results.items():
        assert (build["status"], build["failed_stage"]) == ("failed", "build"), \
            (name, build["error"], build["log"][-3000:])
        assert_no_container_left(started_containers(build["log"]))
    assert "process limit: 64 processes" in results["fork bomb"]["log"]
    assert "can't fork" in results["fork bomb"]["log"]
    assert "used more than the memory limit of 64m" in results["memory hog"]["error"]
    # Docker mounts it read-only; on a kernel without magic SysRq it does not even exist.
    assert "can't create /proc/sysrq-trigger" in results["sysrq"]["log"]
    assert "REACHED" not in results["host services"]["log"]
    assert "No such file or directory" in results["host services"]["log"]
    assert docker.from_env().ping() and registry_answers()
