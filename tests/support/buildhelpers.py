"""Helpers for build tests: a real `lockmaster worker` process, waiting, containers."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import docker
from docker.errors import NotFound

from tests.support.stack import SECRET_ENV, app_environ, post_github

LOCKMASTER = str(Path(sys.executable).parent / "lockmaster")


def lockmaster_env(app) -> dict[str, str]:
    """The environment of a lockmaster process of this test's installation."""
    return {**app_environ(app), SECRET_ENV: os.environ.get(SECRET_ENV, "")}


def start_worker(app, log_path: Path, *args: str,
                 extra_env: dict[str, str] | None = None) -> subprocess.Popen:
    """`lockmaster worker` as its own process group, logging to log_path."""
    with open(log_path, "ab") as log_file:
        return subprocess.Popen([LOCKMASTER, "worker", *args],
                                env={**lockmaster_env(app), **(extra_env or {})},
                                stdout=log_file, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)


def stop_worker(process: subprocess.Popen) -> None:
    """Kill what is left of a worker process group (tests end them on purpose before)."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=30)


def wait_for(check: Callable[[], object], seconds: float, what: str) -> object:
    """Poll check until it returns something truthy; fail naming `what` after `seconds`."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out after {seconds}s waiting for {what}")


def push(client, source_repo, secret, **payload_args) -> str:
    """Send a push of the repository's HEAD; returns the build id."""
    response = post_github(client, source_repo.payload(**payload_args), secret)
    assert response.status_code == 202, response.get_json()
    return response.get_json()["builds"][0]["id"]


def build_of(client, build_id: str) -> dict:
    """GET /api/v1/builds/{id}."""
    return client.get(f"/api/v1/builds/{build_id}").get_json()


def started_containers(log_text: str) -> list[str]:
    """The containers the engine said it started for a build (' ---> Running in <id>')."""
    return re.findall(r"---> Running in ([0-9a-f]+)", log_text)


def assert_no_container_left(ids: list[str]) -> None:
    """None of these containers exists on the engine any more."""
    client = docker.from_env()
    for container_id in ids:
        try:
            container = client.containers.get(container_id)
        except NotFound:
            continue
        raise AssertionError(f"container {container_id} ({container.status}) was left behind")


def build_log(client, build_id: str) -> str:
    """GET /api/v1/builds/{id}/log."""
    return client.get(f"/api/v1/builds/{build_id}/log").text


def kill_worker_and_horse(worker: subprocess.Popen) -> None:
    """SIGKILL a worker's process group and its work horse (RQ runs the horse in a process
    group of its own), as a machine that loses the worker would."""
    path = f"/proc/{worker.pid}/task/{worker.pid}/children"
    with open(path) as handle:
        horse = [int(child) for child in handle.read().split()]
    try:
        os.killpg(worker.pid, signal.SIGKILL)
        for pid in horse:
            os.kill(pid, signal.SIGKILL)
        worker.wait(timeout=30)
    finally:
        stop_worker(worker)


def reconciled(app, build_id: str, seconds: float = 40) -> str:
    """Run `lockmaster reconcile` until it settles build_id; its output."""
    from click.testing import CliRunner

    from app import cli

    runner, env = CliRunner(), lockmaster_env(app)

    def settled():
        output = runner.invoke(cli, ["reconcile"], env=env).output
        return build_id in output and output

    return wait_for(settled, seconds, "reconcile to settle the build")


def step_was_cached(log_text: str, instruction: str) -> bool:
    """True if the engine reused its cache for the step, in either builder's progress
    (legacy: ' ---> Using cache' under the step; BuildKit: '#N CACHED' in the step's block)."""
    after = log_text[log_text.index(instruction):]
    if after.split("\n")[1].strip() == "---> Using cache":
        return True
    return re.search(r"^#\d+ CACHED$", after.split("\n\n")[0], re.MULTILINE) is not None


def assert_no_step_left(log_text: str, marker: str, seconds: float = 10) -> None:
    """No container (legacy) and, after at most `seconds` for the engine to cancel the solve,
    no process (BuildKit) of the step whose command holds `marker` is left."""
    assert marker in log_text, "the step never started"
    assert_no_container_left(started_containers(log_text))
    wait_for(lambda: not step_processes(marker), seconds, f"the processes of {marker} to end")


def step_processes(marker: str) -> list[str]:
    """The ids of the processes whose command line holds marker."""
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            text = cmdline.read_bytes().decode(errors="replace")
        except OSError:
            continue
        if marker in text:
            found.append(cmdline.parent.name)
    return found


def buildkit_limits(parent: str = "docker") -> tuple[int, str, str]:
    """The limits in an engine's BuildKit cgroup (under its cgroup parent): memory bytes, CPU
    quota, pids.max."""
    group = Path(parent) / "buildkit"
    root = Path("/sys/fs/cgroup")
    return (int((root / "memory" / group / "memory.limit_in_bytes").read_text()),
            (root / "cpu" / group / "cpu.cfs_quota_us").read_text().strip(),
            (root / "pids" / group / "pids.max").read_text().strip())
