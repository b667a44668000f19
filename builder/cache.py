"""Layer cache for a worker that has not built this repository: the branch's last staged image."""

from __future__ import annotations

import docker
from docker.errors import APIError, DockerException, ImageNotFound

from builder.buildlog import BuildLog


def pull_cache_image(client: docker.DockerClient, repository: str, tag: str | None,
                     log: BuildLog, auth_config: dict | None = None) -> list[str]:
    """repository:tag to seed the build cache, pulled unless this engine has it; [] if none."""
    if tag is None:
        return []
    reference = f"{repository}:{tag}"
    try:
        client.images.get(reference)
        log.write(f"using {reference} as the layer cache")
        return [reference]
    except ImageNotFound:
        pass
    except (APIError, DockerException):
        return []
    try:
        client.api.pull(repository, tag=tag, auth_config=auth_config)
    except (APIError, DockerException) as exc:
        log.write(f"no cache image {reference} ({str(exc).splitlines()[0][:120]}); "
                  "building without it")
        return []
    log.write(f"using {reference} as the layer cache")
    return [reference]
