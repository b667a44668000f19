"""The JSON shapes of lineage records, as the API's external contract fixes them (docs/api.md)."""

from __future__ import annotations

from datetime import datetime
from urllib.parse import urlsplit

from provenance.formats import CYCLONEDX, SLSA_PROVENANCE_V1
from record.checks import CheckRecord
from record.models import Build
from record.triggers import refs_of


def iso(moment: datetime | None) -> str | None:
    """ISO 8601 in UTC with a Z, or None."""
    return moment.isoformat() + "Z" if moment else None


def build_document(build: Build) -> dict:
    """A build as GET /api/v1/builds/{id} returns it."""
    image = None
    if build.digest:
        image = {"repository": build.image_repository, "digest": build.digest,
                 "tags": list(build.tags or []), "size": build.size}
    return {
        "id": build.id,
        "number": build.number,
        "repository": build.repository,
        "ref": build.ref,
        "refs": refs_of(build),
        "commit": {"sha": build.commit_sha, "message": build.commit_message,
                   "author": build.commit_author},
        "pusher": build.pusher,
        "pusher_accounts": list(build.pusher_accounts or []),
        "status": build.status,
        "error": build.error,
        "failed_stage": build.failed_stage,
        "image": image,
        "proof": proof_document(build),
        "checks": [check_document(c) for c in build.checks],
        "promotions": [promotion_document(p) for p in getattr(build, "promotions", [])],
        "history": list(build.history or []),
        "notifications": [notification_document(n) for n in build.notifications],
        "stages": dict(build.stages or {}),
        "artifacts": {"log": f"/api/v1/builds/{build.id}/log",
                      "sbom": f"/api/v1/builds/{build.id}/sbom"},
        "build_args": dict(build.build_args or {}),
        "retry_of": build.retry_of,
        "cancelled_by": build.cancelled_by,
        "links": {"self": f"/api/v1/builds/{build.id}",
                  "log": f"/api/v1/builds/{build.id}/log",
                  "sbom": f"/api/v1/builds/{build.id}/sbom",
                  "cancel": f"/api/v1/builds/{build.id}/cancel",
                  "retry": f"/api/v1/builds/{build.id}/retry"},
        "created_at": iso(build.created_at),
        "started_at": iso(build.started_at),
        "finished_at": iso(build.finished_at),
    }


def proof_document(build: Build) -> dict | None:
    """What proves the build's image: signed, provenance, SBOM attested, with digests."""
    proof = build.proof or {}
    if not build.digest:
        return None
    envelopes = proof.get("envelopes") or {}
    return {"signed": bool(proof.get("signature")), "signature": proof.get("signature"),
            "attestation": proof.get("attestation"), "key_id": proof.get("key_id"),
            "provenance": envelopes.get(SLSA_PROVENANCE_V1),
            "sbom_attested": CYCLONEDX in envelopes, "sbom_attestation": envelopes.get(CYCLONEDX),
            "sbom": proof.get("sbom"), "backfilled": bool(proof.get("backfilled")),
            "override": proof.get("override")}


def build_summary(build: Build) -> dict:
    """A build as lists (GET /api/v1/builds, commits, repositories) show it."""
    return {
        "id": build.id,
        "number": build.number,
        "repository": build.repository,
        "ref": build.ref,
        "commit": {"sha": build.commit_sha, "message": build.commit_message,
                   "author": build.commit_author},
        "pusher": build.pusher,
        "status": build.status,
        "error": build.error,
        "digest": build.digest,
        "created_at": iso(build.created_at),
        "finished_at": iso(build.finished_at),
        "links": {"self": f"/api/v1/builds/{build.id}"},
    }


def notification_document(notification) -> dict:
    """A notification's delivery state; the URL shows only its host (URLs can hold tokens)."""
    return {
        "event": notification.event,
        "target": urlsplit(notification.url).netloc,
        "format": notification.kind,
        "status": notification.status,
        "attempts": notification.attempts,
        "last_status_code": notification.last_status_code,
        "last_error": notification.last_error,
        "delivered_at": iso(notification.delivered_at),
    }


def check_document(check: CheckRecord) -> dict:
    """One gate's result as the build document's `checks` array lists it."""
    document = {"name": check.name, "status": check.status, "summary": check.summary}
    if check.test:
        document["test"] = check.test
    return {**document, "details": check.details, "duration_ms": check.duration_ms}


def promotion_document(promotion) -> dict:
    """A promotion as the build and environment APIs return it."""
    return {
        "id": promotion.id,
        "kind": promotion.kind,
        "build_id": promotion.build_id,
        "image": promotion.image,
        "digest": promotion.digest,
        "from": promotion.from_environment,
        "to": promotion.to_environment,
        "status": promotion.status,
        "reason": promotion.reason,
        "tags": list(promotion.tags or []),
        "actor": promotion.actor,
        "approvals": [{"by": a.username, "decision": a.decision, "digest": a.digest,
                       "comment": a.comment, "self_approval": a.self_approval, "via": a.via,
                       "at": iso(a.at)} for a in promotion.approvals],
        "replaced_digest": promotion.replaced_digest,
        "proof": promotion.proof,
        "created_at": iso(promotion.created_at),
        "started_at": iso(promotion.started_at),
        "finished_at": iso(promotion.finished_at),
    }
