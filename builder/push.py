"""Pushing a built image to its staging repository, checking the digest it serves, and tagging."""

from __future__ import annotations

import time
from dataclasses import dataclass

import docker
from docker.errors import APIError, DockerException

from builder.buildlog import BuildLog
from builder.errors import BuildFailure
from config import RegistrySettings
from distribution.client import Manifest, RegistryClient, RegistryError
from ops import metrics

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
    """Tag the image as repository:tag for the first tag and push it, retrying a refused push
    with growing pauses (pushing the same image again is harmless: the registry keeps one
    manifest). `verify_pushed` then checks what the registry serves, `tag_others` gives it the
    other tags, and `tag_locally` this engine once the build is staged."""
    for attempt in range(1, attempts + 1):
        try:
            return _push_first(client, image_id, repository, tags[0], log, auth_config)
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


def _push_first(client: docker.DockerClient, image_id: str, repository: str, tag: str,
                log: BuildLog, auth_config: dict | None) -> PushedImage:
    """Tag the image locally as repository:tag (the engine pushes only what it has a name
    for) and push it."""
    try:
        client.api.tag(image_id, repository, tag)
        log.write(f"$ docker push {repository}:{tag}")
        return PushedImage(repository, _push_one(client, repository, tag, log, auth_config),
                           [tag])
    except (APIError, DockerException) as exc:
        raise PushError(f"the Docker engine could not push: {exc}") from exc


def tag_locally(client: docker.DockerClient, image_id: str, pushed: PushedImage,
                log: BuildLog) -> None:
    """Give the image this engine's names for the pushed tags it lacks: the branch tag seeds
    the engine's layer cache for the next build of the branch. Done after staging, off the
    build's way there; a tag the engine refuses only costs that cache, so it is logged."""
    for tag in pushed.tags[1:]:
        try:
            client.api.tag(image_id, pushed.repository, tag)
        except (APIError, DockerException) as exc:
            log.write(f"could not tag {pushed.repository}:{tag} on this engine: {exc}")


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


def verify_pushed(registry: RegistrySettings, pushed: PushedImage,
                  client: RegistryClient) -> Manifest:
    """The manifest the registry serves for the pushed digest; BuildFailure unless it is
    exactly that one."""
    try:
        served = client.manifest(_name(registry, pushed), pushed.digest)
    except RegistryError as exc:
        raise _not_served(pushed.tags, exc) from exc
    if served.digest != pushed.digest:
        raise BuildFailure("push", f"the registry serves {served.digest}, not {pushed.digest}")
    return served


def tag_others(registry: RegistrySettings, pushed: PushedImage, served: Manifest,
               tags: list[str], client: RegistryClient) -> PushedImage:
    """Store the verified manifest under each tag not pushed yet (writes no log: it may run
    beside the signing; `log_tagged` says what it did)."""
    others = [tag for tag in tags if tag not in pushed.tags]
    try:
        for tag in others:
            client.put_manifest(_name(registry, pushed), tag, served)
    except RegistryError as exc:
        raise _not_served(tags, exc) from exc
    return PushedImage(pushed.repository, pushed.digest, [*pushed.tags, *others])


def log_tagged(pushed: PushedImage, tagged: PushedImage, log: BuildLog) -> None:
    """One log line per tag `tag_others` added."""
    for tag in tagged.tags[len(pushed.tags):]:
        log.write(f"tagged {tagged.repository}:{tag} as {tagged.digest}")


def _name(registry: RegistrySettings, pushed: PushedImage) -> str:
    return pushed.repository.removeprefix(registry.url + "/")


def _not_served(tags: list[str], exc: RegistryError) -> BuildFailure:
    metrics.registry_errors.labels("verify").inc()
    return BuildFailure("push", f"the registry does not serve the pushed image as "
                                f"{', '.join(tags)}: {exc}")
