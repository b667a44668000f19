"""The promote job's proof step: verify the source's proofs, then carry them to the target."""

from __future__ import annotations

from bootstrap import Runtime
from distribution.client import RegistryClient
from provenance.attach import UploadSlots
from provenance.carry import carry
from provenance.formats import FormatError
from provenance.keys import SigningKeyError
from provenance.keystore import trusted_keys, worker_signer
from provenance.sources import RegistrySource
from provenance.verify import Expected, ProofError, Verified, verify_image
from record.checks import Artifact
from record.models import Build
from record.promotions import Promotion


class ProofRefused(Exception):
    """The digest's proofs do not verify (or cannot be carried); nothing was copied."""


def expected_for(runtime: Runtime, build: Build, reference: str, digest: str) -> Expected:
    """What the proofs of a build's digest must say, from its record."""
    with runtime.db.session() as session:
        artifact = session.get(Artifact, (build.id, "sbom"))
        sbom = artifact.content if artifact else None
    return Expected(reference=reference, digest=digest,
                    builder_id=runtime.settings.signing.builder_id,
                    commit_sha=build.commit_sha, sbom=sbom, sbom_expected=sbom is not None)


def overridden(build: Build) -> dict | None:
    """The admin override that lets this build's digest go without proofs, if any (once the
    digest has proofs, they are verified instead)."""
    proof = build.proof or {}
    return None if proof.get("signature") else proof.get("override")


def verify_source(runtime: Runtime, client: RegistryClient, build: Build,
                  promotion: Promotion, source: str) -> Verified:
    """Verify the proofs in the source repository; ProofRefused says why they fail."""
    reference = f"{runtime.settings.registry.url}/{source}"
    try:
        return verify_image(RegistrySource(client, source), trusted_keys(runtime.db),
                            expected_for(runtime, build, reference, promotion.digest))
    except ProofError as exc:
        raise ProofRefused(f"the image's proofs do not verify: {exc}; nothing was copied") \
            from exc


def carry_proofs(runtime: Runtime, client: RegistryClient, build: Build, promotion: Promotion,
                 source: str, target: str, verified: Verified,
                 slots: UploadSlots | None = None) -> dict:
    """Put the proofs next to the promoted image (signed for the target's reference, its new
    blobs through `slots` opened ahead); returns the promotion's proof record."""
    try:
        signer = worker_signer(runtime.settings, runtime.db)
    except SigningKeyError as exc:
        raise ProofRefused(str(exc)) from exc
    try:  # the proofs verified, but their manifests may still lack what carrying reads
        carried = carry(client, source, target, f"{runtime.settings.registry.url}/{target}",
                        promotion.digest, signer,
                        {"creator": "Lockmaster", "build": build.id, "promotion": promotion.id},
                        known=verified, slots=slots)
    except (FormatError, KeyError, TypeError, AttributeError) as exc:
        raise ProofRefused(f"the image's proofs cannot be carried: {exc!r}") from exc
    return {"verified": verified.lines, "source_signature": verified.signature,
            "source_attestation": verified.attestation, **carried}
