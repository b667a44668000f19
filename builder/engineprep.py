"""The engine side of a build, made ready in a thread while the commit is checked out."""

from __future__ import annotations

import threading

import docker

from bootstrap import Runtime
from builder.buildlog import BuildLog
from builder.cache import pull_cache_image
from builder.engineparent import ParentUnknown
from builder.engineprocess import engine_cgroup_parent, worker_socket
from builder.pidlimit import PidsLimit, unsupported
from builder.recipe import ref_tag
from config import RepositoryConfig
from record.models import Build
from registry.access import push_auth


class EnginePrep:
    """The Docker client, the layer-cache image and the build's process limit: each asks the
    engine (or pulls), none needs the checkout, so they overlap it."""

    def __init__(self, runtime: Runtime, build: Build, repo: RepositoryConfig, log: BuildLog):
        self.runtime, self.build, self.repo, self.log = runtime, build, repo, log
        self.pids = PidsLimit(build.id, repo.pids)
        self.client: docker.DockerClient | None = None
        self.cache_from: list[str] = []
        self.cgroup_parent: str | None = None
        self.auth: dict | None = None
        self.limits_unsupported: str | None = None  # why BuildKit's limits cannot be applied
        self.engine_parent: str | None = None  # else the engine's cgroup parent
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._prepare, daemon=True,
                                         name=f"engine-prep-{build.id}")
        self._thread.start()

    def ready(self) -> EnginePrep:
        """Wait until prepared; raises what went wrong in the thread."""
        self._thread.join()
        if self._error is not None:
            raise self._error
        return self

    def close(self) -> None:
        """Wait for the thread, then remove the build's process-limit cgroup."""
        self._thread.join()
        self.pids.close()

    def _prepare(self) -> None:
        try:
            self.client = self.runtime.docker()
            staging = self.runtime.settings.registry.repository("staging", self.repo.image)
            self.auth = push_auth(self.runtime)
            self.cache_from = pull_cache_image(self.client, staging, ref_tag(self.build),
                                               self.log, self.auth)
            if self.repo.builder == "legacy":
                self.cgroup_parent = self.pids.open(self.client, self.log)
            else:  # BuildKit's limits are written just before the build (builder/bklimits.py)
                self._find_engine_parent()
        except BaseException as exc:  # raised again by ready(), in the build's own thread
            self._error = exc

    def _find_engine_parent(self) -> None:
        """The engine's cgroup parent, or why BuildKit's limits cannot be applied: never a
        guess, a limit written where no step runs would be claimed and not hold."""
        self.limits_unsupported = unsupported(self.client)
        if self.limits_unsupported is None:
            try:
                self.engine_parent = engine_cgroup_parent(worker_socket())
            except ParentUnknown as exc:
                self.limits_unsupported = str(exc)
