"""Tags for refs that joined a build after it pushed: the same digest, tagged again by copy."""

from __future__ import annotations

import logging

from bootstrap import BUILDS_QUEUE, Runtime, current_runtime
from builder.dispatch import build_job_id
from builder.recipe import image_tags
from record.models import Build
from record.triggers import current_refs
from registry.access import registry_client
from states import BuildStatus

log = logging.getLogger(__name__)


def enqueue_retag(runtime: Runtime, build_id: str) -> None:
    """Queue a retag that runs once the build's own job has ended."""
    runtime.queue(BUILDS_QUEUE).enqueue_call(
        "builder.retag.add_ref_tags", args=(build_id,), depends_on=build_job_id(build_id),
        result_ttl=3600, failure_ttl=7 * 24 * 3600, description=f"tag build {build_id}")


def add_ref_tags(build_id: str) -> list[str]:
    """Tag a staged build's digest for every ref it now answers; returns the tags added."""
    runtime = current_runtime()
    runtime.after_fork()
    with runtime.db.session() as session:
        build = session.get(Build, build_id)
        if build is None or build.status != BuildStatus.STAGED:
            return []
        missing = [t for t in image_tags(build, current_refs(session, build))
                   if t not in build.tags]
        registry = runtime.settings.registry
        name = build.image_repository.removeprefix(registry.url + "/")
        client = registry_client(runtime, "builder")
        manifest = client.manifest(name, build.digest)
        for tag in missing:
            client.put_manifest(name, tag, manifest)
            log.info("tagged %s:%s as %s", name, tag, build.digest)
        build.tags = [*build.tags, *missing]
    return missing
