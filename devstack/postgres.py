"""A PostgreSQL server of our own under the data dir (Debian's postgresql binaries), for tests."""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
from pathlib import Path

import psycopg

from devstack.services import Service, ServiceError

PG_HOST, PG_PORT = "127.0.0.1", 5433
PG_USER = "lockmaster"


def postgres_service() -> Service:
    """PostgreSQL on 127.0.0.1:5433, trust auth on loopback only; fast shutdown on stop."""
    run_as = "postgres" if os.geteuid() == 0 else None  # the server refuses to run as root
    return Service("postgres", postgres_answers, _postgres_command, stop_signal=signal.SIGINT,
                   run_as=run_as)


def admin_url(database: str = "postgres") -> str:
    """SQLAlchemy URL of the test server's superuser."""
    return f"postgresql+psycopg://{PG_USER}@{PG_HOST}:{PG_PORT}/{database}"


def postgres_answers() -> bool:
    """True if the test server accepts a login."""
    try:
        with socket.create_connection((PG_HOST, PG_PORT), timeout=2):
            pass
        with psycopg.connect(host=PG_HOST, port=PG_PORT, user=PG_USER, dbname="postgres",
                             connect_timeout=3):
            return True
    except (OSError, psycopg.Error):
        return False


def server_binary(name: str) -> str:
    """The newest installed PostgreSQL server program called name (initdb, postgres)."""
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    if not found:
        raise ServiceError("PostgreSQL is not installed: apt-get install -y postgresql")
    return found[-1]


def _postgres_command(data_dir: Path) -> list[str]:
    folder = data_dir / "postgres"
    cluster = folder / "data"
    runtime = folder / "run"
    user = pwd.getpwnam("postgres") if os.geteuid() == 0 else None
    if not (cluster / "PG_VERSION").exists():
        shutil.rmtree(cluster, ignore_errors=True)
        cluster.mkdir(parents=True)
        give_to(folder, user)
        _as(user, [server_binary("initdb"), "-D", str(cluster), "-U", PG_USER, "--auth=trust",
                   "--encoding=UTF8", "--no-sync"])
    runtime.mkdir(parents=True, exist_ok=True)
    give_to(runtime, user)
    return [server_binary("postgres"), "-D", str(cluster), "-h", PG_HOST, "-p", str(PG_PORT),
               "-k", str(runtime), "-c", "fsync=off", "-c", "max_connections=200"]


def give_to(path: Path, user) -> None:
    """Make path (and all below it) the server user's, reachable through its parents."""
    if user is None:
        return
    for folder in [path, *path.rglob("*")]:
        os.chown(folder, user.pw_uid, user.pw_gid)
    # The server user must be able to reach the cluster through the parent folders.
    for parent in path.parents:
        if parent == Path("/"):
            break
        mode = parent.stat().st_mode
        if not mode & 0o001:
            parent.chmod(mode | 0o001)


def _as(user, command: list[str]) -> None:
    full = ["runuser", "-u", "postgres", "--", *command] if user else command
    result = subprocess.run(full, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise ServiceError(f"{' '.join(command)} failed: {result.stderr.strip()}")
