"""Proofs after the fact: signing digests staged (and promoted) before images were signed."""

from __future__ import annotations

from sqlalchemy import select

from bootstrap import Runtime
from builder.attest import sign_image
from provenance.carry import carry
from provenance.keystore import worker_signer
from record.accounts import User
from record.audit import audit
from record.models import Build, utcnow
from record.promotions import Promotion
from registry.access import registry_client
from states import BuildStatus, PromotionStatus


def backfill(runtime: Runtime, repository: str | None = None) -> list[str]:
    """Sign and attest every staged digest without proofs whose record is complete, and
    carry them to the environments it was promoted to; one line per image signed."""
    signer = worker_signer(runtime.settings, runtime.db)
    client = registry_client(runtime, "promoter")
    registry = runtime.settings.registry
    done = []
    for build, promoted in _unsigned(runtime, repository):
        repo = runtime.settings.repository_named(build.repository)
        image = repo.image if repo else build.image_repository.split("/", 2)[-1]
        source = registry.path("staging", image)
        if client.manifest_digest(source, build.digest) != build.digest:
            done.append(f"skipped {build.id}: {source}@{build.digest} is no longer served")
            continue
        proof = sign_image(runtime, build, repo, source, f"{registry.url}/{source}",
                           build.digest, client, signer, [], None, backfilled=True)
        for environment in promoted:
            target = registry.path(environment, image)
            carry(client, source, target, f"{registry.url}/{target}", build.digest, signer,
                  {"creator": "Lockmaster", "build": build.id, "backfilled": True})
        with runtime.db.session() as session:
            row = session.get(Build, build.id)
            row.proof = {**(row.proof or {}), **proof}  # an earlier override stays on record
            audit(session, "backfill-proof", "lockmaster", f"{source}@{build.digest}",
                  environments=promoted, signature=proof["signature"])
        done.append(f"signed {source}@{build.digest} (build {build.id})"
                    + (f", carried to {', '.join(promoted)}" if promoted else ""))
    return done


def _unsigned(runtime: Runtime, repository: str | None) -> list[tuple[Build, list[str]]]:
    with runtime.db.session() as session:
        query = select(Build).where(Build.status == BuildStatus.STAGED, Build.digest.is_not(None),
                                    Build.commit_sha != "", Build.clone_url != "")
        if repository:
            query = query.where(Build.repository == repository)
        found = []
        for build in session.scalars(query.order_by(Build.id)):
            if (build.proof or {}).get("signature"):
                continue
            promoted = session.scalars(select(Promotion.to_environment).where(
                Promotion.build_id == build.id, Promotion.status == PromotionStatus.PROMOTED)).all()
            found.append((build, sorted(set(promoted))))
        return found


def allow_unsigned(runtime: Runtime, build_id: str, admin: str, reason: str) -> None:
    """Record an admin's override: this build's digest may be promoted without proofs."""
    if not reason.strip():
        raise ValueError("give a --reason: the override is audited")
    with runtime.db.session() as session:
        user = session.scalar(select(User).where(User.username == admin))
        if user is None or user.role != "admin":
            raise ValueError(f"{admin} is not an admin; only an admin may override the proof "
                             "check")
        build = session.get(Build, build_id)
        if build is None or not build.digest:
            raise ValueError(f"no staged build {build_id}")
        override = {"by": admin, "reason": reason, "at": utcnow().isoformat() + "Z"}
        build.proof = {**(build.proof or {}), "override": override}
        audit(session, "proof-override", admin, f"{build.image_repository}@{build.digest}",
              outcome="ok", detail=reason, build=build_id)
