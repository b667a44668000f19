"""The promote job: copy the approved digest into the next environment and put its tags."""

from __future__ import annotations

import logging
from concurrent.futures import wait

from rq.timeouts import JobTimeoutException

from bootstrap import Runtime, current_runtime
from builder.tags import branch_name, ref_to_tag, short_sha, tag_name
from config.promotion import PromotionRules
from distribution.client import Manifest, RegistryClient, RegistryError
from distribution.copy import copy_image
from distribution.parallel import pool
from notify.publish import publish
from ops import metrics
from promotion.policy import Refused, check_tag_move, render_tags
from promotion.proofs import ProofRefused, carry_proofs, overridden, verify_source
from provenance.attach import UploadSlots
from provenance.verify import Verified
from record import environments
from record.audit import audit
from record.models import Build, utcnow
from record.promotions import Promotion
from registry.access import registry_client
from states import PromotionStatus

LOCK_SECONDS = 900
log = logging.getLogger(__name__)


def run_promotion(promotion_id: int) -> str:
    """Promote one approved digest (a finished promotion is left as it is)."""
    runtime = current_runtime()
    runtime.after_fork()
    return PromotionRun(runtime, promotion_id).run()


def lock_name(image: str, environment: str) -> str:
    """The Redis lock that keeps one promotion per image and environment at a time."""
    return f"lockmaster:promotion-lock:{image}:{environment}"


class PromotionRun:
    """Runs one promotion under the (image, environment) lock."""

    def __init__(self, runtime: Runtime, promotion_id: int, registry: RegistryClient | None = None):
        self.runtime = runtime
        self.promotion_id = promotion_id
        self.registry = registry or registry_client(runtime, "promoter")
        # Proofs travel beside the image copy: a client (connection) of their own.
        self.proof_registry = registry or registry_client(runtime, "promoter")

    def run(self) -> str:
        """Promote unless already finished; returns the promotion's status."""
        promotion = self._load()
        if promotion is None or promotion.status not in (PromotionStatus.APPROVED,
                                                         PromotionStatus.PROMOTING):
            return promotion.status if promotion else "missing"
        lock = self.runtime.redis.lock(lock_name(promotion.image, promotion.to_environment),
                                       timeout=LOCK_SECONDS, blocking_timeout=LOCK_SECONDS)
        if not lock.acquire():
            return self._finish(PromotionStatus.FAILED, reason="another promotion of this image to "
                                f"{promotion.to_environment} held the lock too long; retry")
        try:
            return self._promote(promotion)
        finally:
            lock.release()

    def _promote(self, promotion: Promotion) -> str:
        with self.runtime.db.session() as session:
            build = session.get(Build, promotion.build_id)
            now = environments.current(session, promotion.image, promotion.to_environment)
            session.get(Promotion, self.promotion_id).status = PromotionStatus.PROMOTING
            session.get(Promotion, self.promotion_id).started_at = utcnow()
        replaced = now.digest if now else None
        repo = self.runtime.settings.repository_named(build.repository)
        rules = repo.promotion if repo else PromotionRules()
        registry = self.runtime.settings.registry
        source = registry.path(promotion.from_environment, promotion.image)
        target = registry.path(promotion.to_environment, promotion.image)
        tags = tags_for(rules, build)
        # The two new blobs of the target's `.sig` get their sessions while the proofs are
        # checked (a refused or overridden promotion cancels them).
        slots = None if overridden(build) else UploadSlots(self.proof_registry, target, 2)
        try:
            # The proofs are checked while the tags are read.
            verifying = pool().submit(self._verify, build, promotion, source)
            try:
                for tag in tags:
                    current = self.registry.manifest_digest(target, tag)
                    check_tag_move(tag, current, promotion.digest, rules.moving_tags)
            except (Refused, RegistryError):
                wait([verifying])  # nothing of this promotion runs on once it has ended
                raise
            verified = verifying.result()
            manifest, checked = self._copy_with_proofs(build, promotion, source, target,
                                                       verified, slots)
            for tag in tags:
                stored = self.registry.put_manifest(target, tag, manifest)
                if stored != promotion.digest:
                    raise RegistryError(f"tag {tag} stored as {stored}, not {promotion.digest}")
        except Refused as exc:
            audit(self.runtime.db, "tag-move", promotion.actor, f"{target}", outcome="refused",
                  detail=str(exc), promotion=self.promotion_id)
            return self._finish(PromotionStatus.FAILED, reason=str(exc), replaced_digest=replaced)
        except ProofRefused as exc:
            audit(self.runtime.db, "proof-check", promotion.actor,
                  f"{source}@{promotion.digest}", outcome="refused", detail=str(exc),
                  promotion=self.promotion_id)
            return self._finish(PromotionStatus.FAILED, reason=str(exc), replaced_digest=replaced)
        except RegistryError as exc:
            return self._finish(PromotionStatus.FAILED,
                                reason=f"the registry refused the copy: {exc}",
                                replaced_digest=replaced)
        except JobTimeoutException:  # its copy may still land: left `promoting`, which the
            raise  # integrity watch counts as Lockmaster's own
        except Exception as exc:  # ended with a reason, not left `promoting` for ever
            self._finish(PromotionStatus.FAILED, replaced_digest=replaced,
                         reason=f"internal error in Lockmaster during the promotion: {exc!r}; "
                                "see the worker log, then promote again")
            raise
        finally:
            if slots is not None:
                slots.close()
        return self._finish(PromotionStatus.PROMOTED, tags=tags, replaced_digest=replaced,
                            proof=checked)

    def _verify(self, build: Build, promotion: Promotion, source: str) -> Verified | dict:
        """The source's verified proofs, or the admin override that lets it go without."""
        override = overridden(build)
        if override:
            return {"override": override}
        return verify_source(self.runtime, self.proof_registry, build, promotion, source)

    def _copy_with_proofs(self, build: Build, promotion: Promotion, source: str, target: str,
                          verified: Verified | dict,
                          slots: UploadSlots | None = None) -> tuple[Manifest, dict]:
        """Copy the image and carry its verified proofs side by side, neither waiting for the
        other's round trips; returns the manifest and the promotion's proof record."""
        if isinstance(verified, dict):  # overridden: nothing to carry
            return copy_image(self.registry, source, self.registry, target,
                              promotion.digest), verified
        copying = pool().submit(copy_image, self.registry, source, self.registry, target,
                                promotion.digest)
        try:
            checked = carry_proofs(self.runtime, self.proof_registry, build, promotion, source,
                                   target, verified, slots)
        finally:
            manifest = copying.result()
        return manifest, checked

    def _load(self) -> Promotion | None:
        with self.runtime.db.session() as session:
            return session.get(Promotion, self.promotion_id)

    def _finish(self, status: str, **fields) -> str:
        with self.runtime.db.session() as session:
            promotion = session.get(Promotion, self.promotion_id)
            promotion.status, promotion.finished_at = status, utcnow()
            for key, value in fields.items():
                setattr(promotion, key, value)
            action = "rollback" if promotion.kind == "rollback" else "promotion"
            audit(session, action, promotion.actor,
                  f"{promotion.image}@{promotion.digest} → {promotion.to_environment}",
                  outcome="ok" if status == PromotionStatus.PROMOTED else "failed",
                  detail=promotion.reason, promotion=promotion.id, tags=promotion.tags,
                  replaced=promotion.replaced_digest, repository=promotion.build.repository)
            observe(promotion)
        log.info("promotion %s %s", self.promotion_id, status)
        if status == PromotionStatus.PROMOTED:
            publish(self.runtime, promotion.build_id, "promoted")
        return status


def observe(promotion: Promotion) -> None:
    """Count a finished promotion and time it in the `promotion` stage histogram."""
    metrics.promotions.labels(promotion.to_environment, promotion.status).inc()
    if promotion.started_at and promotion.finished_at:
        seconds = (promotion.finished_at - promotion.started_at).total_seconds()
        metrics.stage_seconds.labels("promotion").observe(seconds)


def tags_for(rules: PromotionRules, build: Build) -> list[str]:
    """The configured tags for a build, made valid OCI tags."""
    version = tag_name(build.ref)
    branch = branch_name(build.ref)
    return render_tags(rules.tags, ref_to_tag(version) if version else None,
                       short_sha(build.commit_sha), ref_to_tag(branch) if branch else None)
