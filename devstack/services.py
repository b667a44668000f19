"""Start the services Lockmaster needs (dockerd, registry, Redis) unless they already answer."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import docker
import requests

REGISTRY_ADDR = "127.0.0.1:5000"
REDIS_HOST, REDIS_PORT = "127.0.0.1", 6379


class ServiceError(Exception):
    """A service could not be started; the message says what to look at."""


@dataclass
class Service:
    """One background server: how to tell it answers and how to start it."""

    name: str
    answers: Callable[[], bool]
    command: Callable[[Path], list[str]]
    startup_seconds: float = 60
    stop_signal: int = signal.SIGTERM
    run_as: str | None = None


@dataclass
class ServiceSet:
    """The services of one data directory; stops only what it started itself."""

    data_dir: Path
    started: list[tuple[Service, subprocess.Popen]] = field(default_factory=list)

    def ensure(self, services: list[Service] | None = None) -> None:
        """Start every service that does not answer yet, and wait until it does."""
        for service in services or default_services():
            if service.answers():
                continue
            self.started.append((service, self._start(service)))

    def _start(self, service: Service) -> subprocess.Popen:
        logs = self.data_dir / "log"
        logs.mkdir(parents=True, exist_ok=True)
        log_path = logs / f"{service.name}.log"
        with open(log_path, "ab") as log_file:
            process = subprocess.Popen(service.command(self.data_dir), stdout=log_file,
                                       stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                       start_new_session=True, user=service.run_as,
                                       group=service.run_as)
        deadline = time.monotonic() + service.startup_seconds
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise ServiceError(f"{service.name} exited with {process.returncode}; "
                                   f"see {log_path}")
            if service.answers():
                return process
            time.sleep(0.2)
        process.kill()
        raise ServiceError(f"{service.name} did not answer within {service.startup_seconds}s; "
                           f"see {log_path}")

    def stop(self) -> None:
        """Stop what this set started, newest first."""
        while self.started:
            service, process = self.started.pop()
            process.send_signal(service.stop_signal)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def default_services() -> list[Service]:
    """dockerd, the distribution registry and redis-server, as `make run` starts them."""
    return [
        Service("dockerd", docker_answers, _dockerd_command),
        Service("registry", registry_answers, _registry_command),
        Service("redis", redis_answers, _redis_command),
    ]


def docker_answers() -> bool:
    """True if the Docker engine (DOCKER_HOST or the local socket) answers a ping."""
    try:
        client = docker.from_env(timeout=3)
        try:
            return bool(client.ping())
        finally:
            client.close()
    except Exception:
        return False


def registry_answers() -> bool:
    """True if the registry on 127.0.0.1:5000 answers its API base."""
    try:
        return requests.get(f"http://{REGISTRY_ADDR}/v2/", timeout=2).status_code in (200, 401)
    except requests.RequestException:
        return False


def redis_answers() -> bool:
    """True if redis-server on 127.0.0.1:6379 answers PING."""
    try:
        with socket.create_connection((REDIS_HOST, REDIS_PORT), timeout=2) as conn:
            conn.sendall(b"PING\r\n")
            return conn.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def binary(name: str) -> str:
    """The path of program name, on PATH or in the system folders."""
    for folder in (None, "/usr/sbin:/sbin:/usr/bin"):
        found = shutil.which(name, path=folder)
        if found:
            return found
    raise ServiceError(f"{name} is not installed: run `make run` as root once, or "
                       "apt-get install -y docker.io docker-registry redis-server")


def _dockerd_command(data_dir: Path) -> list[str]:
    if os.environ.get("DOCKER_HOST"):
        raise ServiceError(f"DOCKER_HOST={os.environ['DOCKER_HOST']} does not answer; "
                           "start that engine or unset DOCKER_HOST")
    return [binary("dockerd"), "--bridge=none", "--iptables=false", "--ip-masq=false"]


def _registry_command(data_dir: Path) -> list[str]:
    folder = data_dir / "registry"
    (folder / "data").mkdir(parents=True, exist_ok=True)
    config = folder / "config.yml"
    config.write_text(REGISTRY_CONFIG.format(root=folder / "data", addr=REGISTRY_ADDR))
    return [binary("docker-registry"), "serve", str(config)]


def _redis_command(data_dir: Path) -> list[str]:
    folder = data_dir / "redis"
    folder.mkdir(parents=True, exist_ok=True)
    return [binary("redis-server"), "--bind", REDIS_HOST, "--port", str(REDIS_PORT),
            "--dir", str(folder), "--appendonly", "yes", "--save", "", "--daemonize", "no"]


REGISTRY_CONFIG = """\
version: 0.1
log:
  level: info
  fields:
    service: registry
storage:
  filesystem:
    rootdirectory: {root}
  delete:
    enabled: true
http:
  addr: {addr}
  headers:
    X-Content-Type-Options: [nosniff]
health:
  storagedriver:
    enabled: true
    interval: 10s
    threshold: 3
"""
