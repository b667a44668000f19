"""Test support: a Docker engine of the test's own (its own data root, socket and containerd),
for what acts on a whole engine, such as pruning its build cache."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import docker
from docker.errors import DockerException

from devstack.services import binary

START_SECONDS = 60


@dataclass(frozen=True)
class Engine:
    """A running engine: its DOCKER_HOST and a client of it."""

    url: str
    client: docker.DockerClient


@contextmanager
def dedicated_engine(flags: Sequence[str] = ()) -> Iterator[Engine]:
    """Start `dockerd` with no bridge and nothing shared with the machine's engine, and with
    `flags` added (e.g. `--cgroup-parent=lm-test-parent`); stop it and remove everything it
    stored on leaving. Fails loudly if it does not start."""
    folder = Path(tempfile.mkdtemp(prefix="lm-engine-"))  # short: a socket path has a limit
    url = f"unix://{folder}/docker.sock"
    log = open(folder / "dockerd.log", "wb")  # noqa: SIM115 (closed below)
    process = subprocess.Popen(
        [binary("dockerd"), "--bridge=none", "--iptables=false", "--ip-masq=false",
         "--data-root", str(folder / "root"), "--exec-root", str(folder / "exec"),
         "--pidfile", str(folder / "dockerd.pid"), "-H", url, *flags],
        stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        start_new_session=True)
    try:
        yield Engine(url, _wait_for(url, process, folder))
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        log.close()
        shutil.rmtree(folder, ignore_errors=True)


def _wait_for(url: str, process: subprocess.Popen, folder: Path) -> docker.DockerClient:
    give_up = time.monotonic() + START_SECONDS
    while time.monotonic() < give_up:
        if process.poll() is not None:
            break
        try:
            client = docker.DockerClient(base_url=url, timeout=300)
            client.ping()
            return client
        except DockerException:
            time.sleep(0.2)
    said = (folder / "dockerd.log").read_text(errors="replace")[-2000:]
    raise RuntimeError(f"a dedicated dockerd did not start within {START_SECONDS}s:\n{said}")
