"""The web app under gunicorn, started the way `make run` starts it (`lockmaster web`)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def environment(settings) -> dict[str, str]:
    """The environment of a `lockmaster` process of the installation described by settings."""
    return {**os.environ, "LOCKMASTER_CONFIG": str(settings.config_path),
            "LOCKMASTER_DATA_DIR": str(settings.data_dir),
            "LOCKMASTER_REDIS_URL": settings.redis_url,
            "LOCKMASTER_DATABASE_URL": settings.database_url, "LOCKMASTER_LOG_LEVEL": "WARNING"}


@contextmanager
def recorders(settings, count: int = 1):
    """Run `lockmaster recorder` processes (what each worker runs beside it); yields them."""
    processes = []
    try:
        for n in range(count):
            log_path = Path(settings.data_dir) / f"recorder-{n}.log"
            log_path.parent.mkdir(parents=True, exist_ok=True)
            with open(log_path, "ab") as log_file:
                processes.append(subprocess.Popen(
                    [sys.executable, "app.py", "recorder"], cwd=ROOT,
                    env=environment(settings), stdout=subprocess.DEVNULL, stderr=log_file))
        yield processes
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=30)


def wait_recorded(runtime, timeout: float = 60) -> None:
    """Wait until the running recorders have written every admitted delivery."""
    from webhooks.recorder import pending

    deadline = time.monotonic() + timeout
    while pending(runtime):
        assert time.monotonic() < deadline, f"{pending(runtime)} deliveries still not recorded"
        time.sleep(0.1)


@contextmanager
def gunicorn(settings, workers: int = 2, tls: tuple[str, str, str] | None = None):
    """Serve the installation described by settings (over TLS given (cert, key, CA));
    yields the base URL."""
    port = free_port()
    env = environment(settings)
    # Its log goes to a file: an unread pipe fills up and blocks the server mid-request.
    log_path = Path(settings.data_dir) / f"gunicorn-{port}.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "ab") as log_file:
        process = subprocess.Popen(
            [sys.executable, "app.py", "web", "--port", str(port), "--workers", str(workers),
             *(["--certfile", tls[0], "--keyfile", tls[1]] if tls else [])],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=log_file)
    base = f"{'https' if tls else 'http'}://127.0.0.1:{port}"
    try:
        wait_until_serving(process, base, log_path, tls[2] if tls else True)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=30)


def wait_until_serving(process: subprocess.Popen, base: str, log_path: Path,
                       verify: str | bool = True) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"gunicorn exited: {log_path.read_text()}")
        try:
            requests.get(f"{base}/healthz", timeout=5, verify=verify)
            return
        except requests.RequestException:
            time.sleep(0.1)
    raise AssertionError("gunicorn did not answer within 30s")
