"""Wires the real adapters (database, Redis, queues, Docker) for one installation."""

from __future__ import annotations

import getpass
import os
from collections.abc import Callable
from functools import cached_property

import click
import docker
from flask import Flask, current_app
from redis import Redis
from rq import Queue

from config import ConfigError, Settings, load_settings
from record.db import Database

BUILDS_QUEUE = "builds"
PROMOTIONS_QUEUE = "promotions"
NOTIFICATIONS_QUEUE = "notifications"


def pool_queue(pool: str | None) -> str:
    """The queue of a worker pool's builds (`lockmaster worker --pool NAME` listens on it)."""
    return f"{BUILDS_QUEUE}-pool-{pool}" if pool else BUILDS_QUEUE


def pool_queues(settings: Settings) -> list[str]:
    """The queues of the worker pools the configured repositories are pinned to."""
    return sorted({pool_queue(repo.pool) for repo in settings.repositories if repo.pool})


class Runtime:
    """The adapters one Lockmaster process uses; nothing connects until first used."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.db = Database(settings.database_url)
        self._pid = os.getpid()
        self._docker: tuple[int, docker.DockerClient] | None = None

    @cached_property
    def redis(self) -> Redis:
        """Connection to the installation's Redis (socket timeouts keep requests bounded)."""
        return Redis.from_url(self.settings.redis_url, socket_timeout=10, socket_connect_timeout=3)

    def queue(self, name: str) -> Queue:
        """The RQ queue `name` of this installation."""
        return Queue(name, connection=self.redis)

    def docker(self) -> docker.DockerClient:
        """This process's client of the Docker engine named by DOCKER_HOST (the local socket by
        default); made once, since making one asks the engine for its API version."""
        if self._docker is None or self._docker[0] != os.getpid():
            self._docker = (os.getpid(), docker.from_env(timeout=300))
        return self._docker[1]

    def after_fork(self) -> None:
        """Forget connections inherited from a parent process (none in the process that made
        them: a job run by the worker itself keeps the worker's warm connections)."""
        if os.getpid() == self._pid:
            return
        self._pid = os.getpid()
        self.db.after_fork()
        self.__dict__.pop("redis", None)


def current_runtime() -> Runtime:
    """The Runtime of the Flask app in context (web requests and jobs alike)."""
    return current_app.extensions["lockmaster"]


class CommandContext:
    """What every `lockmaster` command works with: the settings, the Runtime and, for commands
    that run web-app code, the app; each made on first use, so `--help` and commands that need
    none of them read no configuration. The group makes one with the app factory (the CLI sits
    above the app; the commands below it get the app from here, not by importing it)."""

    def __init__(self, make_app: Callable[..., Flask]):
        self._make_app = make_app
        self._app: Flask | None = None
        self._runtime: Runtime | None = None

    @cached_property
    def settings(self) -> Settings:
        """This installation's settings; a configuration error ends the command cleanly."""
        try:
            return load_settings()
        except ConfigError as exc:
            raise click.ClickException(str(exc)) from exc

    @property
    def runtime(self) -> Runtime:
        """The adapters: the app's, once the command made one."""
        if self._runtime is None:
            self._runtime = Runtime(self.settings)
        return self._runtime

    @property
    def operator(self) -> str:
        """Who runs the command, for the audit trail: $LOCKMASTER_USER, else the system user."""
        return os.environ.get("LOCKMASTER_USER") or getpass.getuser()

    def app(self, *, serves_web: bool = True) -> Flask:
        """The Lockmaster app for these settings (made once; its Runtime becomes `runtime`)."""
        if self._app is None:
            self._app = self._make_app(self.settings, serves_web=serves_web)
            self._runtime = self._app.extensions["lockmaster"]
        return self._app


# `@pass_command_context` hands a command the group's CommandContext as its first argument.
pass_command_context = click.make_pass_decorator(CommandContext)
