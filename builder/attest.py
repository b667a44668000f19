"""Signing a staged image (part of the push stage): the facts of the build, then the proofs."""

from __future__ import annotations

import json
import re

from docker.errors import DockerException
from sqlalchemy import select

from bootstrap import Runtime
from builder.errors import BuildFailure
from config import RepositoryConfig
from distribution.client import RegistryClient, RegistryError
from provenance.attach import Predicate, UploadSlots, attach
from provenance.formats import CYCLONEDX, SLSA_PROVENANCE_V1, sha256_digest
from provenance.keys import ImageSigner, SigningKeyError
from provenance.keystore import worker_signer
from provenance.slsa import GATES_PREDICATE, BuildFacts, provenance
from record.checks import Artifact, CheckRecord
from record.models import ROW_ONLY, Build, utcnow

_FROM = re.compile(r"^\s*FROM\s+(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?",
                   re.IGNORECASE | re.MULTILINE)
MAX_DOCKERFILE_BYTES = 1024 * 1024


def sign_image(runtime: Runtime, build: Build, repo: RepositoryConfig | None, name: str,
               reference: str, digest: str, client: RegistryClient, signer: ImageSigner,
               base_images: list[tuple[str, str]], log_digest: str | None,
               backfilled: bool = False,
               gate_record: tuple[bytes | None, list[dict]] | None = None,
               slots: UploadSlots | None = None) -> dict:
    """Attach the signature and the attestations of digest; returns the build's proof record.
    `gate_record` is the gates' record if the caller has read it already; `slots` upload
    sessions opened ahead."""
    sbom, gates = gate_record if gate_record is not None else _gate_record(runtime, build.id)
    facts = build_facts(runtime, build, repo, base_images, sbom, log_digest, backfilled)
    predicates = [Predicate(SLSA_PROVENANCE_V1, provenance(facts))]
    if sbom is not None:
        predicates.append(Predicate(CYCLONEDX, json.loads(sbom)))
    predicates.append(Predicate(GATES_PREDICATE, {"buildId": build.id, "checks": gates}))
    attached = attach(client, name, reference, digest, signer, predicates,
                      {"creator": "Lockmaster", "build": build.id}, slots)
    return {**attached.record(), "key_id": signer.key_id, "log": log_digest,
            "sbom": sha256_digest(sbom) if sbom is not None else None,
            "backfilled": backfilled, "signed_at": utcnow().isoformat() + "Z"}


def build_facts(runtime: Runtime, build: Build, repo: RepositoryConfig | None,
                base_images: list[tuple[str, str]], sbom: bytes | None,
                log_digest: str | None, backfilled: bool) -> BuildFacts:
    """The provenance facts of a build from its record and its repository settings."""
    limits = {"memory": getattr(repo, "memory", None), "cpus": getattr(repo, "cpus", None),
              "pids": getattr(repo, "pids", None), "timeout": getattr(repo, "timeout", None)}
    return BuildFacts(
        build_id=build.id, repository=build.repository, ref=build.ref,
        clone_url=build.clone_url, commit_sha=build.commit_sha, dockerfile=build.dockerfile,
        context=build.context, target=getattr(repo, "target", None),
        build_args=dict(build.build_args or {}),
        builder=getattr(repo, "builder", None) or "legacy",
        limits={k: v for k, v in limits.items() if v is not None},
        network=getattr(repo, "network", "none"), builder_id=runtime.settings.signing.builder_id,
        started_on=_rfc3339(build.started_at), finished_on=_rfc3339(utcnow()),
        base_images=base_images, sbom_digest=sha256_digest(sbom) if sbom is not None else None,
        log_digest=log_digest, backfilled=backfilled)


def base_images(client, dockerfile_text: str) -> list[tuple[str, str]]:
    """(name, digest) of each base image the Dockerfile names, as this engine has it: its
    registry digest, else its image ID (a base image made on this host has no other)."""
    found, stages = [], set()
    for match in _FROM.finditer(dockerfile_text[:MAX_DOCKERFILE_BYTES]):
        name, alias = match.group(1), match.group(2)
        if name.lower() not in stages and name != "scratch" and "$" not in name:
            digest = _engine_digest(client, name)
            if digest and (name, digest) not in found:
                found.append((name, digest))
        if alias:
            stages.add(alias.lower())
    return found


def _engine_digest(client, name: str) -> str | None:
    try:
        image = client.images.get(name)
    except DockerException:
        return None
    repo_digests = image.attrs.get("RepoDigests") or []
    return repo_digests[0].rsplit("@", 1)[-1] if repo_digests else image.id


def _gate_record(runtime: Runtime, build_id: str) -> tuple[bytes | None, list[dict]]:
    """The SBOM the sbom gate stored (None when it is off) and the gates' results."""
    with runtime.db.session() as session:
        artifact = session.get(Artifact, (build_id, "sbom"))
        checks = session.scalars(select(CheckRecord).where(CheckRecord.build_id == build_id)
                                 .order_by(CheckRecord.position))
        gates = [{"name": c.name, "status": c.status, "summary": c.summary} for c in checks]
        return (artifact.content if artifact else None), gates


def _rfc3339(moment) -> str | None:
    return moment.isoformat(timespec="seconds") + "Z" if moment else None


def worker_signer_or_fail(runtime: Runtime) -> ImageSigner:
    """This worker's signing key if it is the active one; else the push stage fails."""
    try:
        return worker_signer(runtime.settings, runtime.db)
    except SigningKeyError as exc:
        raise BuildFailure("push", str(exc)) from exc


def signing_inputs(runtime: Runtime, build_id: str) -> tuple[Build, tuple]:
    """What signing a build reads from the database once its gates have passed: its row as
    it is now (started, with its build args) and the gates' record."""
    with runtime.db.session() as session:
        build = session.get(Build, build_id, options=[ROW_ONLY])
    return build, _gate_record(runtime, build_id)


def sign_staged(runtime: Runtime, build: Build, repo: RepositoryConfig, pushed,
                client: RegistryClient, signer: ImageSigner, log_digest: str,
                bases: list[tuple[str, str]], inputs: tuple[Build, tuple] | None = None,
                slots: UploadSlots | None = None) -> dict:
    """Sign and attest a just-pushed staging image; BuildFailure if the registry refuses.
    `inputs` is signing_inputs() if the caller has read them already (beside the push);
    `slots` are proof_upload_slots() opened while the image built."""
    name = pushed.repository.removeprefix(runtime.settings.registry.url + "/")
    build, gate_record = inputs or signing_inputs(runtime, build.id)
    try:
        return sign_image(runtime, build, repo, name, pushed.repository, pushed.digest, client,
                          signer, bases, log_digest, gate_record=gate_record, slots=slots)
    except RegistryError as exc:
        raise BuildFailure("push", f"the registry refused the image's signature or "
                                   f"attestations: {exc}; retry the build") from exc


def proof_upload_slots(client: RegistryClient, name: str,
                       repo: RepositoryConfig) -> UploadSlots:
    """Upload sessions for a build's proofs, opened now (while it builds), one per blob: the
    `.sig`'s config and payload, the `.att`'s config and its envelopes (provenance, the SBOM
    when the gates make one, the gates)."""
    return UploadSlots(client, name, 5 + repo.checks.makes_sbom)
