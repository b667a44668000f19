"""docker build of a checked-out commit, isolated from the network."""

from __future__ import annotations

import re
from pathlib import Path

import docker
from docker.errors import APIError, DockerException

from builder.buildlog import BuildLog
from builder.errors import BuildFailure

_STEP = re.compile(r"^Step \d+/\d+ : ")


def build_image(client: docker.DockerClient, context: Path, dockerfile: Path, *, tag: str | None,
                labels: dict[str, str], build_args: dict[str, str], target: str | None,
                log: BuildLog) -> str:
    """Build and return the image id; raise BuildFailure naming the failing step."""
    step = None
    try:
        stream = client.api.build(
            path=str(context), dockerfile=str(dockerfile), tag=tag, labels=labels,
            buildargs=build_args, target=target, network_mode="none", pull=False,
            rm=True, forcerm=True, decode=True,
        )
        image_id = None
        for chunk in stream:
            text = chunk.get("stream")
            if text and text.strip():
                log.write(text.rstrip("\n"))
                if _STEP.match(text):
                    step = text.strip()
            if "error" in chunk or "errorDetail" in chunk:
                message = chunk.get("error") or chunk["errorDetail"].get("message", "")
                log.write(f"ERROR: {message}")
                where = f" at {step}" if step else ""
                raise BuildFailure("build", f"docker build failed{where}: {message.strip()}")
            image_id = (chunk.get("aux") or {}).get("ID", image_id)
    except (APIError, DockerException) as exc:
        raise BuildFailure("build", f"the Docker engine refused the build: {exc}") from exc
    if not image_id:
        raise BuildFailure("build", "docker build ended without producing an image")
    return image_id
