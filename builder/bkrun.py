"""A build of one repository through BuildKit: its Dockerfile checked, its frontend chosen, its
secrets on a tmpfs and its limits on the engine for the time of the build."""

from __future__ import annotations

import os

from docker.errors import DockerException, ImageNotFound

from builder.bklimits import StepLimits
from builder.bkrules import (
    cache_namespace,
    check_run_steps,
    frontend,
    syntax_of,
    unguarded_secrets_note,
)
from builder.bksecrets import secret_files, secret_values
from builder.buildkit import DOCKER_CLI, BuildKitBuild, BuildKitOptions
from builder.buildlog import BuildLog
from builder.errors import BuildFailure
from builder.image import BuildRequest
from config import RepositoryConfig, Settings


def buildkit_build(client, settings: Settings, repo: RepositoryConfig, request: BuildRequest,
                   log: BuildLog, on_start, wait, prep) -> str:
    """Build through BuildKit and return the image id; `on_start(build)` lets the caller stop
    it, `wait()` is called while another build holds the engine; `prep` is the EnginePrep."""
    if not os.access(DOCKER_CLI, os.X_OK):
        raise BuildFailure("build", f"BuildKit builds need Debian's docker CLI at {DOCKER_CLI} "
                                    "on the worker (apt-get install docker.io); or set "
                                    "'builder: legacy' for this repository")
    text = request.dockerfile_text
    check_run_steps(text, {secret.id for secret in repo.secrets})
    chosen = frontend(text, settings.frontend_image, _has_image(client, syntax_of(text)))
    if chosen.note:
        log.write(chosen.note)
    values = secret_values(repo.secrets)
    for value in values.values():  # masked in the log, the error and the gates' results
        log.add_secret(value)
    unguarded = unguarded_secrets_note(list(values), repo.checks.enabled)
    if unguarded:
        log.write(unguarded)
    limits = StepLimits(request.memory, request.cpus, repo.pids, prep.engine_parent)
    staging = settings.registry.repository("staging", repo.image)
    with secret_files(values) as files:
        options = BuildKitOptions(cache_namespace=cache_namespace(staging, repo.name),
                                  dockerfile_text=chosen.dockerfile, secret_files=files,
                                  syntax_arg=chosen.syntax_arg, fell_back=chosen.fell_back,
                                  auth=prep.auth)
        build = BuildKitBuild(request, options, log)
        on_start(build)
        limits.apply(prep.limits_unsupported, log, wait)
        try:
            return build.run()
        finally:
            limits.release()


def _has_image(client, reference: str | None) -> bool:
    if reference is None:
        return False
    try:
        client.images.get(reference)
        return True
    except (ImageNotFound, DockerException):
        return False
