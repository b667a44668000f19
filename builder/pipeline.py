"""One build's way through the stages: clone, build, checks, push to staging."""

from __future__ import annotations

import logging
import shutil
from datetime import datetime

from bootstrap import Runtime
from builder.buildlog import BuildLog
from builder.checks.runner import run_gates
from builder.errors import BuildFailure
from builder.image import build_image
from builder.push import push_image
from builder.source import checkout, inside
from builder.states import BuildStatus, check_transition
from builder.tags import branch_name, ref_to_tag, short_sha, tag_name
from config import RepositoryConfig
from lineage.models import Build, utcnow
from lineage.triggers import current_refs
from notify.publish import publish
from ops import metrics
from registry.client import RegistryClient, RegistryError

BUILD_ID_LABEL = "io.lockmaster.build-id"
NOTIFIED = {"staged", "rejected", "failed"}
log = logging.getLogger(__name__)


class BuildRun:
    """Runs one build; every state change is written to the database as it happens."""

    def __init__(self, runtime: Runtime, build_id: str):
        self.runtime = runtime
        self.build_id = build_id
        self.stage = "clone"

    def run(self) -> str:
        """Run the build unless it already ended; returns its final status."""
        with self.runtime.db.session() as session:
            build = session.get(Build, self.build_id)
        if build is None:
            log.warning("build %s does not exist; nothing to do", self.build_id)
            return "missing"
        if BuildStatus(build.status).is_final:
            return build.status
        self.log = BuildLog(self.runtime.redis, self.build_id)
        workspace = self.runtime.settings.workspace_dir / self.build_id
        try:
            self._stages(build, workspace)
        except BuildFailure as failure:
            self.log.write(f"FAILED at {failure.stage}: {failure.reason}")
            self._advance(BuildStatus.FAILED, error=failure.reason, failed_stage=failure.stage)
        except Exception as exc:
            self.log.write(f"FAILED at {self.stage}: internal error: {exc!r}")
            self._advance(BuildStatus.FAILED, error=f"internal error in Lockmaster during "
                          f"{self.stage}: {exc!r}; see the worker log", failed_stage=self.stage)
            raise
        finally:
            shutil.rmtree(workspace, ignore_errors=True)
            self._store_log()
        return self._status()

    def _stages(self, build: Build, workspace) -> None:
        repo = self.runtime.settings.repository_named(build.repository)
        if repo is None:
            raise BuildFailure("clone", f"repository {build.repository} is no longer "
                                        "configured in lockmaster.yml")
        self._advance(BuildStatus.CLONING, started_at=utcnow())
        checkout(build.clone_url, build.commit_sha, workspace, self.log)
        self.stage = "build"
        self._advance(BuildStatus.BUILDING)
        client = self.runtime.docker()
        image_id = self._build(client, build, repo, workspace)
        self.stage = "checks"
        self._advance(BuildStatus.CHECKING)
        verdict = run_gates(self.runtime, build, repo, image_id, workspace, self.log)
        if verdict.rejected:
            self.log.write(f"REJECTED: {verdict.reason}")
            self._advance(BuildStatus.REJECTED, error=verdict.reason, failed_stage="checks")
            return
        self.stage = "push"
        self._advance(BuildStatus.PUSHING)
        repository = self.runtime.settings.registry.repository("staging", repo.image)
        pushed = push_image(client, image_id, repository, self._tags(build), self.log)
        self._verify(repository, pushed.digest)
        size = client.images.get(image_id).attrs.get("Size")
        self.log.write(f"staged {repository}@{pushed.digest}")
        self._advance(BuildStatus.STAGED, digest=pushed.digest, image_repository=repository,
                      tags=pushed.tags, size=size)

    def _build(self, client, build: Build, repo: RepositoryConfig, workspace) -> str:
        context = inside(workspace, repo.context, "context")
        dockerfile = inside(workspace, repo.dockerfile, "dockerfile")
        if not context.is_dir():
            raise BuildFailure("build", f"build context '{repo.context}' not found in commit "
                                        f"{short_sha(build.commit_sha)}")
        if not dockerfile.is_file():
            raise BuildFailure("build", f"Dockerfile not found at path '{repo.dockerfile}' in "
                                        f"commit {short_sha(build.commit_sha)}")
        labels = {
            "org.opencontainers.image.revision": build.commit_sha,
            "org.opencontainers.image.source": build.source_url or build.clone_url,
            "org.opencontainers.image.created": utcnow().isoformat(timespec="seconds") + "Z",
            BUILD_ID_LABEL: build.id,
        }
        return build_image(client, context, dockerfile, tag=None,
                           labels=labels, build_args=repo.build_args, target=repo.target,
                           log=self.log)

    def _tags(self, build: Build) -> list[str]:
        """Tags for every ref this build answers whose newest build it is (read just now)."""
        with self.runtime.db.session() as session:
            return image_tags(build, current_refs(session, session.get(Build, build.id)))

    def _verify(self, repository: str, digest: str) -> None:
        registry = self.runtime.settings.registry
        name = repository.removeprefix(registry.url + "/")
        try:
            served = RegistryClient(registry.base_url).manifest(name, digest)
        except RegistryError as exc:
            metrics.registry_errors.labels("verify").inc()
            raise BuildFailure("push", f"the registry does not serve the pushed image: {exc}") \
                from exc
        if served.digest != digest:
            raise BuildFailure("push", f"the registry serves {served.digest}, not {digest}")

    def _advance(self, status: BuildStatus, **fields) -> None:
        """Move the build to `status`, recording when, plus any fields given."""
        now = utcnow()
        with self.runtime.db.session() as session:
            build = session.get(Build, self.build_id, with_for_update=True)
            check_transition(BuildStatus(build.status), status)
            _observe_stage(build, now)
            build.status = status.value
            build.history = [*build.history, {"status": status.value, "at": _iso(now)}]
            if status.is_final:
                build.finished_at = now
            for key, value in fields.items():
                setattr(build, key, value)
        log.info("build %s is %s", self.build_id, status.value)
        if status.is_final:
            metrics.builds_finished.labels(status.value).inc()
        if status.value in NOTIFIED:
            publish(self.runtime, self.build_id, status.value)

    def _status(self) -> str:
        with self.runtime.db.session() as session:
            return session.get(Build, self.build_id).status

    def _store_log(self) -> None:
        with self.runtime.db.session() as session:
            session.get(Build, self.build_id).log = self.log.text()
        self.log.close()


def image_tags(build: Build, refs: list[str]) -> list[str]:
    """The staging tags of a build: the short commit id and each branch or tag name."""
    tags = [short_sha(build.commit_sha)]
    for ref in refs:
        name = branch_name(ref) or tag_name(ref)
        if name is not None and ref_to_tag(name) not in tags:
            tags.append(ref_to_tag(name))
    return tags


STAGE_OF_STATUS = {"cloning": "clone", "building": "build", "checking": "gates",
                   "pushing": "push"}


def _observe_stage(build: Build, now: datetime) -> None:
    """Record how long the stage the build is leaving took."""
    stage = STAGE_OF_STATUS.get(build.status)
    if stage and build.history:
        entered = datetime.fromisoformat(build.history[-1]["at"].removesuffix("Z"))
        metrics.stage_seconds.labels(stage).observe((now - entered).total_seconds())


def _iso(moment: datetime) -> str:
    return moment.isoformat() + "Z"
