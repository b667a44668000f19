"""Pushing a built image to its staging repository and reading back the digest."""

from __future__ import annotations

import time
from dataclasses import dataclass

import docker
from docker.errors import APIError, DockerException

from builder.buildlog import BuildLog
from builder.errors import BuildFailure
from config import RegistrySettings
from ops import metrics
from registry.client import RegistryClient, RegistryError

_PROGRESS = {"Preparing", "Waiting", "Pushing"}
PUSH_ATTEMPTS = 3
PUSH_BACKOFF_SECONDS = 2.0


class PushError(Exception):
    """The engine or the registry refused one push; worth trying again."""


@dataclass(frozen=True)
class PushedImage:
    """What the registry now holds for a build."""

    repository: str
    digest: str
    tags: list[str]


def push_image(client: docker.DockerClient, image_id: str, repository: str,
               tags: list[str], log: BuildLog, auth_config: dict | None = None,
               attempts: int = PUSH_ATTEMPTS,
               backoff: float = PUSH_BACKOFF_SECONDS) -> PushedImage:
    """Push the image as repository:tag for every tag, retrying a refused push with growing
    pauses (pushing the same image again is harmless: the registry keeps one manifest)."""
    for attempt in range(1, attempts + 1):
        try:
            return _push_all(client, image_id, repository, tags, log, auth_config)
        except PushError as exc:
            if attempt == attempts:
                metrics.registry_errors.labels("push").inc()
                raise BuildFailure("push", f"push to {repository} failed after {attempts} "
                                           f"attempts: {exc}; check that the registry is up, "
                                           "then retry the build") from exc
            pause = backoff * 2 ** (attempt - 1)
            log.write(f"push failed ({exc}); trying again in {pause:g}s")
            time.sleep(pause)
    raise AssertionError("unreachable")


def _push_all(client: docker.DockerClient, image_id: str, repository: str,
              tags: list[str], log: BuildLog, auth_config: dict | None) -> PushedImage:
    """Tag the image as repository:tag for every tag, push each, and agree on one digest."""
    digests = set()
    try:
        image = client.images.get(image_id)
        for tag in tags:
            image.tag(repository, tag)
        for tag in tags:
            log.write(f"$ docker push {repository}:{tag}")
            digests.add(_push_one(client, repository, tag, log, auth_config))
    except (APIError, DockerException) as exc:
        raise PushError(f"the Docker engine could not push: {exc}") from exc
    if len(digests) != 1:
        raise BuildFailure("push", f"the registry reported different digests for one image: "
                                   f"{sorted(digests)}")
    return PushedImage(repository, digests.pop(), tags)


def _push_one(client: docker.DockerClient, repository: str, tag: str, log: BuildLog,
              auth_config: dict | None) -> str:
    digest = None
    for chunk in client.api.push(repository, tag=tag, stream=True, decode=True,
                                 auth_config=auth_config):
        if "error" in chunk or "errorDetail" in chunk:
            message = chunk.get("error") or chunk["errorDetail"].get("message", "")
            log.write(f"ERROR: {message}")
            raise PushError(f"push of {repository}:{tag} failed: {message}")
        status = chunk.get("status", "")
        if status and not chunk.get("progressDetail") and status not in _PROGRESS:
            log.write(f"{chunk.get('id', '')}: {status}".lstrip(": "))
        digest = (chunk.get("aux") or {}).get("Digest", digest)
    if not digest:
        raise PushError(f"push of {repository}:{tag} ended without a digest")
    return digest


def verify_pushed(registry: RegistrySettings, repository: str, digest: str,
                  client: RegistryClient | None = None) -> None:
    """Raise BuildFailure unless the registry serves exactly `digest` for the repository."""
    name = repository.removeprefix(registry.url + "/")
    try:
        served = (client or RegistryClient(registry.base_url)).manifest(name, digest)
    except RegistryError as exc:
        metrics.registry_errors.labels("verify").inc()
        raise BuildFailure("push", f"the registry does not serve the pushed image: {exc}") \
            from exc
    if served.digest != digest:
        raise BuildFailure("push", f"the registry serves {served.digest}, not {digest}")
