"""One build's way through the stages: clone, build, checks, push to staging."""

from __future__ import annotations

import logging
import os
import shutil
import time
from collections.abc import Iterator
from concurrent.futures import wait
from contextlib import contextmanager
from datetime import datetime

from sqlalchemy.orm import Session

from bootstrap import Runtime
from builder.attest import (
    base_images,
    proof_upload_slots,
    sign_staged,
    signing_inputs,
    worker_signer_or_fail,
)
from builder.bkrun import buildkit_build
from builder.buildkeys import forget_build
from builder.buildlog import BuildLog
from builder.checks.runner import run_gates
from builder.engineprep import EnginePrep
from builder.errors import BuildFailure
from builder.image import BuildRequest, BuildStopped, EngineBuild
from builder.masking import Masker, installation_secrets
from builder.push import log_tagged, push_image, tag_locally, tag_others, verify_pushed
from builder.recipe import BUILD_ID_LABEL as BUILD_ID_LABEL
from builder.recipe import build_args, build_paths, image_labels, image_tags
from builder.source import checkout
from builder.stages import record_stage
from builder.states import check_transition
from builder.watchdog import BuildInterrupted, Watchdog, containers_key, ref_lock
from config import RepositoryConfig
from distribution.parallel import pool
from notify.publish import publish
from ops import metrics
from provenance.attach import UploadSlots
from provenance.formats import sha256_digest
from record.models import ROW_ONLY, Build, utcnow
from record.triggers import current_refs
from registry.access import push_auth, registry_client
from states import BuildStatus

NOTIFIED = {"staged", "rejected", "failed"}
WORKER_LOST_DURING_PUSH = ("worker lost during push: the image may be half pushed, so it is not "
                           "pushed again; retry the build")
log = logging.getLogger(__name__)


class BuildRun:
    """Runs one build; every state change is written to the database as it happens."""

    def __init__(self, runtime: Runtime, build_id: str):
        self.runtime = runtime
        self.build_id = build_id
        self.stage = "clone"
        self.engine_build: EngineBuild | None = None
        self.dockerfile_text = ""
        self.prep: EnginePrep | None = None
        self.upload_slots: UploadSlots | None = None  # the proofs' blob uploads, opened ahead

    def run(self) -> str:
        """Run the build unless it already ended or another worker has it; returns its status."""
        with self.runtime.db.session() as session:
            build = session.get(Build, self.build_id)
        if build is None:
            log.warning("build %s does not exist; nothing to do", self.build_id)
            return "missing"
        if BuildStatus(build.status).is_final:
            return build.status
        self.watch = Watchdog(self.runtime.redis, self.runtime.db, self.build_id)
        if not self.watch.claim():
            log.warning("build %s is already running on a live worker; skipping", self.build_id)
            return build.status
        try:
            return self._run(build)
        finally:
            self.watch.close()

    def _run(self, build: Build) -> str:
        self.log = BuildLog(self.runtime.redis, self.build_id, build_masker(self.runtime))
        workspace = self.runtime.settings.workspace_dir / self.build_id
        try:
            try:
                if build.status == BuildStatus.PUSHING:
                    raise BuildFailure("push", WORKER_LOST_DURING_PUSH)
                repo = self._repository(build)
                self._wait_for_ref(build, repo)
                self._stages(build, repo, workspace)
            finally:  # before the build is said to have ended: nothing of it is left then
                self._clean_up(workspace)
        except BuildInterrupted as stop:
            self.log.write(f"STOPPED during {self.stage}: {stop.reason}")
            self._end_interrupted(stop)
        except BuildFailure as failure:
            self.log.write(f"FAILED at {failure.stage}: {failure.reason}")
            self._advance(BuildStatus.FAILED, error=self.log.masker(failure.reason),
                          failed_stage=failure.stage)
        except Exception as exc:
            self.log.write(f"FAILED at {self.stage}: internal error: {exc!r}")
            self._advance(BuildStatus.FAILED, error=self.log.masker(
                f"internal error in Lockmaster during {self.stage}: {exc!r}; see the worker "
                "log"), failed_stage=self.stage)
            raise
        finally:
            self._store_log()
        return self._status()

    def _clean_up(self, workspace) -> None:
        """Remove the build's containers and workspace, and stop preparing the engine."""
        if self.engine_build is not None:
            self.engine_build.remove_containers()
        if self.prep is not None:
            self.prep.close()
        if self.upload_slots is not None:
            self.upload_slots.close()
        shutil.rmtree(workspace, ignore_errors=True)

    def _repository(self, build: Build) -> RepositoryConfig:
        repo = self.runtime.settings.repository_named(build.repository)
        if repo is None:
            raise BuildFailure("clone", f"repository {build.repository} is no longer "
                                        "configured in lockmaster.yml")
        return repo

    def _wait_for_ref(self, build: Build, repo: RepositoryConfig) -> None:
        """At most one running build per (repository, ref): wait for the one that runs, as
        long as a build may run (the job's RQ timeout allows for that wait)."""
        self.watch.lock = lock = ref_lock(self.runtime.redis, build.repository, build.ref)
        self.watch.start(repo.timeout)
        give_up, waiting = time.monotonic() + repo.timeout, False
        while not lock.acquire(blocking=False, token=self.build_id.encode()):
            if time.monotonic() > give_up:
                raise BuildFailure("clone", f"waited {repo.timeout}s for the running build of "
                                            f"{build.ref} to finish; retry this build")
            if not waiting:
                self.log.write(f"waiting for the running build of {build.ref} to finish")
                waiting = True
            self.watch.check()
            time.sleep(1)
        self.watch.start_clock()

    def _stages(self, build: Build, repo: RepositoryConfig, workspace) -> None:
        self._advance(BuildStatus.CLONING, started_at=utcnow(), attempts=build.attempts + 1)
        self.prep = EnginePrep(self.runtime, build, repo, self.log)
        checkout(build.clone_url, build.commit_sha, workspace, self.log,
                 mirror_dir=self.runtime.settings.mirror_dir, submodules=repo.submodules,
                 allowed_hosts=self.runtime.settings.clone_hosts)
        self.stage = "build"
        args = build_args(build, repo)
        self._advance(BuildStatus.BUILDING, build_args=args)
        settings = self.runtime.settings.registry
        repository = settings.repository("staging", repo.image)
        registry = registry_client(self.runtime, "builder")
        self.upload_slots = proof_upload_slots(
            registry, repository.removeprefix(settings.url + "/"), repo)
        client = self.prep.ready().client
        image_id = self._build(client, build, repo, workspace, args)
        self.stage = "checks"
        self._advance(BuildStatus.CHECKING)
        # Looked up beside the gates (off the way to staging), used before pushing.
        signing_key = pool().submit(worker_signer_or_fail, self.runtime)
        bases = pool().submit(base_images, client, self.dockerfile_text)
        if self._checks(build, repo, image_id, workspace):
            return
        self.stage = "push"
        inputs = pool().submit(signing_inputs, self.runtime, build.id)  # read beside the push
        signer = signing_key.result()  # before pushing: a wrong key stages nothing
        self.log.add_secret(signer.private_pem)
        log_digest = sha256_digest(self.log.text().encode())  # the log up to the checks' end
        with self._advancing(BuildStatus.PUSHING) as (session, pushing):
            # Tags for every ref this build answers whose newest build it is (read just now).
            tags = image_tags(pushing, current_refs(session, pushing))
        pushed = push_image(client, image_id, repository, tags, self.log,
                            auth_config=push_auth(self.runtime))
        served = verify_pushed(settings, pushed, registry)
        # The other tags and the image's size while the verified digest is signed.
        tagging = pool().submit(tag_others, settings, pushed, served, tags, registry)
        sizing = pool().submit(_image_size, client, image_id)
        try:
            proof = sign_staged(self.runtime, build, repo, pushed, registry, signer,
                                log_digest, bases.result(), inputs=inputs.result(),
                                slots=self.upload_slots)
        finally:
            wait([tagging, sizing])
        tagged = tagging.result()
        log_tagged(pushed, tagged, self.log)
        pushed = tagged
        self.log.write(f"signed {repository}@{pushed.digest}: {proof['signature']}, "
                       f"attestations {proof['attestation']}")
        size = sizing.result()
        self.log.write(f"staged {repository}@{pushed.digest}")
        self._advance(BuildStatus.STAGED, digest=pushed.digest, image_repository=repository,
                      tags=pushed.tags, size=size, proof=proof)
        tag_locally(client, image_id, pushed, self.log)

    def _checks(self, build: Build, repo: RepositoryConfig, image_id: str, workspace) -> bool:
        """The quality gates (CHECKING stage): True if they rejected the build."""
        verdict = run_gates(self.runtime, build, repo, image_id, workspace, self.log)
        if verdict.rejected:
            self.log.write(f"REJECTED: {verdict.reason}")
            self._advance(BuildStatus.REJECTED, error=self.log.masker(verdict.reason),
                          failed_stage="checks")
        return verdict.rejected

    def _build(self, client, build: Build, repo: RepositoryConfig, workspace,
               args: dict[str, str]) -> str:
        context, dockerfile, text = build_paths(build, repo, workspace)
        self.dockerfile_text = text  # the provenance names its base images
        request = BuildRequest(
            context=context, dockerfile=dockerfile, dockerfile_text=text,
            labels=image_labels(build), build_args=args,
            target=repo.target, network=repo.network, memory=repo.memory, cpus=repo.cpus,
            cache_from=self.prep.cache_from, cgroup_parent=self.prep.cgroup_parent)
        try:
            if repo.builder == "legacy":
                self._started(EngineBuild(client, request, self.log, self._note_container))
                return self.engine_build.run()
            return buildkit_build(client, self.runtime.settings, repo, request, self.log,
                                  self._started, self.watch.check, self.prep)
        except BuildStopped:
            self.watch.check()
            raise

    def _started(self, engine_build) -> None:
        """The build about to run on the engine: a cancel or timeout from now on stops it."""
        self.engine_build = engine_build
        self.watch.on_stop = engine_build.stop
        self.watch.check()

    def _note_container(self, container_id: str) -> None:
        key = containers_key(self.build_id)
        self.runtime.redis.sadd(key, container_id)
        self.runtime.redis.expire(key, 7 * 24 * 3600)

    def _end_interrupted(self, stop: BuildInterrupted) -> None:
        if BuildStatus(self._status()).is_final:  # a queued build cancelled while it waited
            return
        if stop.cancelled:
            self._advance(BuildStatus.CANCELLED, error="cancelled", failed_stage=self.stage)
        else:
            self._advance(BuildStatus.FAILED, error=stop.reason, failed_stage=self.stage)

    def _advance(self, status: BuildStatus, **fields) -> None:
        """Move the build to `status`, recording when, plus any fields given."""
        with self._advancing(status, **fields):
            pass

    @contextmanager
    def _advancing(self, status: BuildStatus, **fields) -> Iterator[tuple[Session, Build]]:
        """_advance, letting the caller read more in the same transaction (which holds the
        build's row) before it commits."""
        now = utcnow()
        with self.runtime.db.session() as session:
            build = session.get(Build, self.build_id, with_for_update=True, options=[ROW_ONLY])
            if not status.is_final:
                self.watch.check(build)
            check_transition(BuildStatus(build.status), status)
            _observe_stage(build, now)
            build.status = status.value
            build.history = [*build.history, {"status": status.value, "at": _iso(now)}]
            build.stages = record_stage(build.stages or {}, status, _iso(now))
            if status.is_final:
                build.finished_at = now
            for key, value in fields.items():
                setattr(build, key, value)
            yield session, build
            build_key = build.dedupe_key
        log.info("build %s is %s", self.build_id, status.value)
        if status.is_final:
            metrics.builds_finished.labels(status.value).inc()
            if status != BuildStatus.STAGED:
                forget_build(self.runtime.redis, build_key, self.build_id)
        if status.value in NOTIFIED:
            publish(self.runtime, self.build_id, status.value)

    def _status(self) -> str:
        with self.runtime.db.session() as session:
            return session.get(Build, self.build_id, options=[ROW_ONLY]).status

    def _store_log(self) -> None:
        with self.runtime.db.session() as session:
            session.get(Build, self.build_id, options=[ROW_ONLY]).log = self.log.text()
        self.log.close()


def build_masker(runtime: Runtime) -> Masker:
    """What a build's log masks from its first line: the installation's secret values (those
    this process holds) and the builder robot's registry token."""
    settings = runtime.settings
    names = {r.secret_env for r in settings.repositories}
    names |= {n.secret_env for r in settings.repositories for n in r.notifications
              if n.secret_env}
    names |= {settings.registry.events_secret_env} - {None}
    masker = Masker(installation_secrets(os.environ, names))
    auth = push_auth(runtime)
    masker.add(auth and auth["password"])
    return masker


STAGE_OF_STATUS = {"cloning": "clone", "building": "build", "checking": "gates",
                   "pushing": "push"}


def _image_size(client, image_id: str) -> int | None:
    return client.images.get(image_id).attrs.get("Size")


def _observe_stage(build: Build, now: datetime) -> None:
    """Record how long the stage the build is leaving took."""
    stage = STAGE_OF_STATUS.get(build.status)
    if stage and build.history:
        entered = datetime.fromisoformat(build.history[-1]["at"].removesuffix("Z"))
        metrics.stage_seconds.labels(stage).observe((now - entered).total_seconds())


def _iso(moment: datetime) -> str:
    return moment.isoformat() + "Z"
