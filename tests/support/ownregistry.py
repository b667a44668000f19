"""A registry of the test's own (token auth, notifications, TLS), never the shared one."""

from __future__ import annotations

import os
import socket
import subprocess
import time
from contextlib import contextmanager
from pathlib import Path

import requests

from registry.serverconfig import RegistryServer, render
from tests.support.webserver import free_port


@contextmanager
def own_registry(folder: Path, addr: str | None = None, tls: tuple[str, str] | None = None,
                 **options):
    """Serve a distribution registry on a (free) loopback port; yields its host:port."""
    addr = addr or f"127.0.0.1:{free_port()}"
    (folder / "data").mkdir(parents=True, exist_ok=True)
    config = folder / "config.yml"
    cert, key = tls or (None, None)
    config.write_text(render(RegistryServer(addr=addr, root=str(folder / "data"),
                                            tls_cert=cert, tls_key=key, **options)))
    log = open(folder / "registry.log", "ab")  # noqa: SIM115  (closed below)
    process = subprocess.Popen(["docker-registry", "serve", str(config)], stdout=log,
                               stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                               start_new_session=True)
    try:
        _wait(process, addr, folder, tls=tls is not None)
        yield addr
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()


def _wait(process: subprocess.Popen, addr: str, folder: Path, tls: bool) -> None:
    host, port = addr.rsplit(":", 1)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"registry exited: {(folder / 'registry.log').read_text()}")
        try:
            if tls:
                socket.create_connection((host, int(port)), timeout=2).close()
            else:
                requests.get(f"http://{addr}/v2/", timeout=2)
            return
        except (OSError, requests.RequestException):
            time.sleep(0.1)
    raise AssertionError("the test's registry did not answer within 30s")


def docker_cli(config_dir: Path, *args: str, stdin: str | None = None, timeout: int = 120) \
        -> subprocess.CompletedProcess:
    """Run the docker CLI with a config directory of the test's own (its logins stay there)."""
    env = {**os.environ, "DOCKER_CONFIG": str(config_dir)}
    return subprocess.run(["docker", *args], input=stdin, capture_output=True, text=True,
                          env=env, timeout=timeout)
