"""docker build of a checked-out commit: isolated, limited, and stoppable from another thread."""

from __future__ import annotations

import contextlib
import json
import re
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import docker
from docker.errors import APIError, DockerException, NotFound

from builder.buildlog import BuildLog
from builder.commit import commit_settings
from builder.dockerfile import label_instruction, split_settings, with_labels
from builder.errors import BuildFailure
from builder.repofiles import RepositoryFileError, context_tar
from config.isolation import cpu_quota

_STEP = re.compile(r"^Step \d+/\d+ : ")
_RUNNING_IN = re.compile(r"^ ---> Running in ([0-9a-f]{12,64})$")
_OOM_CODE = "returned a non-zero code: 137"
_COLOUR = re.compile(r"\x1b\[[0-9;]*m")
# The Dockerfile Lockmaster sends; a fixed name keeps the generated .dockerignore (which makes
# the engine drop it from the context) the same from build to build, so caches hold.
SENT_DOCKERFILE = ".lockmaster.Dockerfile"


class BuildStopped(Exception):
    """The build was stopped on purpose (cancel or timeout) while the engine ran it."""


@dataclass(frozen=True)
class BuildRequest:
    """Everything the engine needs to build one image, with its isolation settings."""

    context: Path
    dockerfile: Path
    dockerfile_text: str
    labels: dict[str, str]
    build_args: dict[str, str]
    target: str | None = None
    network: str = "none"
    memory: int | None = None
    cpus: float | None = None
    cache_from: list[str] = field(default_factory=list)
    cgroup_parent: str | None = None

    @property
    def labels_in_dockerfile(self) -> bool:
        """Labels go in one appended LABEL step, unless a target stage is built (the
        appended step would land in the last stage, not the target)."""
        return bool(self.labels) and not self.target

    def dockerfile_for_engine(self) -> tuple[str, str, list[str]]:
        """The Dockerfile's name in the context sent, its text (always Lockmaster's own read:
        the engine never opens a Dockerfile of the checkout), and the closing settings
        Lockmaster commits with the labels in one step (if any)."""
        content, settings = self.dockerfile_text, []
        if self.labels_in_dockerfile:
            text, settings = split_settings(content)
            content = text if settings else with_labels(text, self.labels)
        return SENT_DOCKERFILE, content, settings

    def params(self, dockerfile_name: str) -> dict:
        """The /build query parameters (the legacy builder's names)."""
        params = {"dockerfile": dockerfile_name, "rm": True, "forcerm": True, "pull": False,
                  "networkmode": self.network, "buildargs": json.dumps(self.build_args)}
        if not self.labels_in_dockerfile:
            params["labels"] = json.dumps(self.labels)
        if self.target:
            params["target"] = self.target
        if self.cache_from:
            params["cachefrom"] = json.dumps(self.cache_from)
        if self.memory:
            params.update(memory=self.memory, memswap=self.memory)  # no swap beyond the limit
        if self.cpus:
            params.update(cpu_quota(self.cpus))
        if self.cgroup_parent:
            params["cgroupparent"] = self.cgroup_parent
        return params


class EngineBuild:
    """One build on the Docker engine; `stop()` ends it there and removes its containers."""

    def __init__(self, client: docker.DockerClient, request: BuildRequest, log: BuildLog,
                 on_container: Callable[[str], None] = lambda _id: None):
        self.client, self.request, self.log = client, request, log
        self.on_container = on_container
        self.containers: list[str] = []
        self.commit_container: str | None = None
        self.stopped = threading.Event()
        self.succeeded = False
        self._response = None

    def run(self) -> str:
        """Build and return the image id; raise BuildFailure naming the failing step."""
        try:
            image_id = self._run()
            self.succeeded = True
            return image_id
        except BuildFailure as failure:
            if self.stopped.is_set():
                raise BuildStopped() from failure
            raise
        except Exception as exc:
            if self.stopped.is_set():
                raise BuildStopped() from exc
            if isinstance(exc, (APIError, DockerException)):
                raise BuildFailure("build", f"the Docker engine refused the build: {exc}") \
                    from exc
            raise
        finally:
            if not self.succeeded:
                self.remove_containers()

    def stop(self) -> None:
        """Remove the build's containers and hang up the build stream (the engine then
        cancels the build); safe to call from another thread while run() reads."""
        self.stopped.set()
        self.remove_containers()
        if self._response is not None:
            # close() would wait for the reading thread; a shutdown wakes it at once.
            with contextlib.suppress(OSError):
                self.client.api._get_raw_response_socket(self._response).shutdown(
                    socket.SHUT_RDWR)

    def remove_containers(self) -> None:
        """Force-remove every container an unfinished build started (after a successful one
        the engine has removed them already), and the commit's container (removed only now,
        after the build, to keep it off the way to staging)."""
        for container_id in [] if self.succeeded else self.containers:
            remove_container(self.client, container_id)
        if self.commit_container is not None:
            remove_container(self.client, self.commit_container)
            self.commit_container = None

    def _run(self) -> str:
        api, request = self.client.api, self.request
        name, content, settings = request.dockerfile_for_engine()
        try:
            context = context_tar(request.context, name, content)
        except RepositoryFileError as exc:
            raise BuildFailure("build", str(exc)) from exc
        # The SDK's build() hides the HTTP response; we need it to close the stream on stop.
        self._response = api._post(api._url("/build"), data=context,
                                   params=request.params(name), stream=True, timeout=None,
                                   headers={"Content-Type": "application/tar"})
        context.close()
        try:
            api._raise_for_status(self._response)
            if self.stopped.is_set():
                raise BuildStopped()
            image_id = self._follow(api._stream_helper(self._response, decode=True))
        finally:
            self._response.close()
        return self._commit(image_id, settings) if settings else image_id

    def _commit(self, image_id: str, settings: list[str]) -> str:
        """The closing settings and the labels as one step (each would be a step of its own)."""
        changes = [*settings, label_instruction(self.request.labels)]
        self.log.write("$ docker commit " + " ".join(f"--change '{c}'" for c in changes))
        image_id = commit_settings(self.client.api, image_id, changes, self._track_commit)
        self.log.write(f" ---> {image_id.removeprefix('sha256:')[:12]}")
        return image_id

    def _follow(self, stream) -> str:
        step, image_id = None, None
        for chunk in stream:
            text = _COLOUR.sub("", chunk.get("stream") or "")
            self.log.feed(text)
            if text.strip():
                step = text.strip() if _STEP.match(text) else step
                self._note_container(text.rstrip("\n"))
            if "error" in chunk or "errorDetail" in chunk:
                message = chunk.get("error") or chunk["errorDetail"].get("message", "")
                self.log.write(f"ERROR: {message}")
                raise BuildFailure("build", self._reason(step, message.strip()))
            image_id = (chunk.get("aux") or {}).get("ID", image_id)
        if self.stopped.is_set():
            raise BuildStopped()
        if not image_id:
            raise BuildFailure("build", "docker build ended without producing an image")
        return image_id

    def _note_container(self, line: str) -> None:
        match = _RUNNING_IN.match(line)
        if match:
            self._track(match.group(1))

    def _track(self, container_id: str) -> None:
        self.containers.append(container_id)
        self.on_container(container_id)

    def _track_commit(self, container_id: str) -> None:
        self.commit_container = container_id
        self.on_container(container_id)

    def _reason(self, step: str | None, message: str) -> str:
        where = f" at {step}" if step else ""
        reason = f"docker build failed{where}: {message}"
        if self.request.memory and message.endswith(_OOM_CODE):
            limit = self.request.memory // (1024 * 1024)
            reason += (f" (killed: the step used more than the memory limit of {limit}m; raise "
                       "'memory' for this repository in lockmaster.yml if it needs more)")
        return reason


def remove_container(client: docker.DockerClient, container_id: str) -> None:
    """Force-remove one container; one that is already gone is fine."""
    try:
        client.api.remove_container(container_id, force=True)
    except NotFound:
        pass
    except APIError as exc:
        if exc.status_code != 409:  # 409: removal already in progress
            raise
