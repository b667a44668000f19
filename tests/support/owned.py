"""Servers a fault test owns (so it may stop and break them): Redis, PostgreSQL."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

from redis import Redis
from redis.exceptions import RedisError

from devstack.postgres import give_to, server_binary
from tests.support.webserver import free_port


class OwnRedis:
    """redis-server with AOF persistence on a free loopback port, in a folder of the test."""

    def __init__(self, folder: Path):
        self.folder, self.port = folder, free_port()
        self.folder.mkdir(parents=True, exist_ok=True)
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        """The URL of its database 0."""
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> OwnRedis:
        """Start it (again, on the same port and files) and wait until it answers."""
        with open(self.folder / "redis.log", "ab") as log:
            self.process = subprocess.Popen(
                ["redis-server", "--bind", "127.0.0.1", "--port", str(self.port),
                 "--dir", str(self.folder), "--appendonly", "yes", "--appendfsync", "always",
                 "--save", "", "--daemonize", "no"],
                stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        _until(self.answers, 20, "redis-server to answer")
        return self

    def answers(self) -> bool:
        """True if it answers PING."""
        try:
            return bool(Redis.from_url(self.url, socket_timeout=1).ping())
        except RedisError:
            return False

    def stop(self) -> None:
        """Stop it (SIGTERM: it writes its AOF and exits)."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(timeout=30)


class OwnPostgres:
    """A PostgreSQL cluster of the test on a free loopback port (devstack/postgres.py's way)."""

    def __init__(self, folder: Path):
        self.folder, self.port = folder, free_port()
        self.process: subprocess.Popen | None = None
        root = os.geteuid() == 0
        self.user = "postgres" if root else None
        cluster = folder / "data"
        cluster.mkdir(parents=True)
        (folder / "run").mkdir()
        if root:
            import pwd
            give_to(folder, pwd.getpwnam("postgres"))
        self._as([server_binary("initdb"), "-D", str(cluster), "-U", "lockmaster", "--auth=trust",
                  "--no-sync"], check=True)

    @property
    def url(self) -> str:
        """SQLAlchemy URL of its `postgres` database."""
        return f"postgresql+psycopg://lockmaster@127.0.0.1:{self.port}/postgres"

    def start(self) -> OwnPostgres:
        """Start the server and wait until it takes logins."""
        command = [server_binary("postgres"), "-D", str(self.folder / "data"), "-h", "127.0.0.1",
                   "-p", str(self.port), "-k", str(self.folder / "run"), "-c", "fsync=off"]
        with open(self.folder / "postgres.log", "ab") as log:
            self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT,
                                            start_new_session=True, user=self.user,
                                            group=self.user)
        _until(self.answers, 30, "PostgreSQL to take logins")
        return self

    def answers(self) -> bool:
        """True if a login succeeds."""
        import psycopg
        try:
            with psycopg.connect(host="127.0.0.1", port=self.port, user="lockmaster",
                                 dbname="postgres", connect_timeout=2):
                return True
        except psycopg.Error:
            return False

    def stop(self) -> None:
        """Fast shutdown: it disconnects every client, as a restart in production does."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            self.process.wait(timeout=30)

    def _as(self, command: list[str], check: bool) -> None:
        full = ["runuser", "-u", self.user, "--", *command] if self.user else command
        subprocess.run(full, capture_output=True, check=check)


def _until(check, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out after {seconds}s waiting for {what}")
