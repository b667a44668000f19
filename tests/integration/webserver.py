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


@contextmanager
def gunicorn(settings, workers: int = 2, tls: tuple[str, str, str] | None = None):
    """Serve the installation described by settings (over TLS given (cert, key, CA));
    yields the base URL."""
    port = free_port()
    env = {**os.environ, "LOCKMASTER_CONFIG": str(settings.config_path),
           "LOCKMASTER_DATA_DIR": str(settings.data_dir),
           "LOCKMASTER_REDIS_URL": settings.redis_url,
           "LOCKMASTER_DATABASE_URL": settings.database_url, "LOCKMASTER_LOG_LEVEL": "WARNING"}
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
        _wait(process, base, log_path, tls[2] if tls else True)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=30)


def _wait(process: subprocess.Popen, base: str, log_path: Path,
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
