"""The integrity watch: registry notifications matched against Lockmaster's promotions."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from config import Settings
from distribution.client import MANIFEST_TYPES
from ops import metrics
from provenance.formats import is_proof_tag
from record.audit import audit
from record.db import Database
from record.models import Build
from record.promotions import Promotion
from record.registry_access import RegistryEvent
from registry.tokenservice import layout
from states import PromotionStatus

WATCHED = ("push", "delete")
OWN_STATUSES = (PromotionStatus.PROMOTING, PromotionStatus.PROMOTED)


@dataclass(frozen=True)
class Change:
    """A manifest push or deletion the registry reported."""

    event_id: str
    action: str
    repository: str
    tag: str | None
    digest: str | None
    actor: str | None


def changes(envelope: dict) -> list[Change]:
    """The manifest pushes and deletions in a notification envelope (pulls and blobs skipped)."""
    found = []
    for event in envelope.get("events") or []:
        target = event.get("target") or {}
        is_manifest = target.get("mediaType") in MANIFEST_TYPES or event.get("action") == "delete"
        if event.get("action") in WATCHED and is_manifest and event.get("id"):
            found.append(Change(event["id"], event["action"], target.get("repository", ""),
                                target.get("tag") or None, target.get("digest") or None,
                                (event.get("actor") or {}).get("name") or None))
    return found


def ingest(db: Database, settings: Settings, envelope: dict,
           on_alert: Callable[[int, dict], object] | None = None) -> tuple[int, int]:
    """Record each new change once; returns (new records, alerts raised). Each alert, once
    recorded, is handed to on_alert with its row id and alert_document()."""
    recorded = alerts = 0
    for change in changes(envelope):
        try:
            with db.session() as session:
                alert = _judge(session, settings, change)
                row = RegistryEvent(event_id=change.event_id, action=change.action,
                                    repository=change.repository, tag=change.tag,
                                    digest=change.digest, actor=change.actor, alert=alert,
                                    raw=change.__dict__)
                session.add(row)
                session.flush()
                if alert:
                    audit(session, "integrity-alert", change.actor, _target(change),
                          outcome="alert", detail=alert, event=change.event_id)
        except IntegrityError:
            continue  # delivered before: the registry retries until it hears 2xx
        recorded += 1
        if alert:
            alerts += 1
            metrics.integrity_alerts.labels(change.action).inc()
            if on_alert:
                on_alert(row.id, alert_document(settings, change, alert))
    return recorded, alerts


def alert_document(settings: Settings, change: Change, reason: str) -> dict:
    """What an integrity alert tells people: where, what happened, and the registry event."""
    environment, image = layout(settings).locate(change.repository) or (None, None)
    return {"event_id": change.event_id, "action": change.action,
            "repository": change.repository, "environment": environment, "image": image,
            "tag": change.tag, "digest": change.digest, "actor": change.actor,
            "reason": reason}


def _judge(session, settings: Settings, change: Change) -> str | None:
    """Why this change is an alert, or None when Lockmaster made it (or it is not watched)."""
    where = layout(settings).locate(change.repository)
    if where is None or where[0] == "staging":
        return None
    environment, image = where
    if change.action == "delete":
        return (f"{change.repository}@{change.digest} was deleted in {environment}; "
                "Lockmaster never deletes there")
    own = select(Promotion).where(Promotion.image == image,
                                  Promotion.to_environment == environment,
                                  Promotion.status.in_(OWN_STATUSES))
    if change.tag and is_proof_tag(change.tag):
        # A signature tag's own digest is its manifest's; what it signs is in the tag name.
        signed = "sha256:" + change.tag[len("sha256-"):-len(".sig")]
        if session.scalars(own.where(Promotion.digest == signed)).first():
            return None
        return (f"signature tag {change.tag} of {change.repository} was pushed by "
                f"{change.actor or 'an unknown identity'} for a digest no Lockmaster promotion "
                "made")
    made = session.scalars(own.where(Promotion.digest == change.digest)).all()
    if any(change.tag is None or p.status == PromotionStatus.PROMOTING
           or change.tag in (p.tags or []) for p in made):
        return None
    copying = own.where(Promotion.status == PromotionStatus.PROMOTING)
    if change.tag is None and session.scalars(copying).first():
        return None  # a child manifest of an index being copied by a running promotion
    what = f"tag {change.tag}" if change.tag else "a manifest"
    return (f"{what} of {change.repository} was pushed as {change.digest} by "
            f"{change.actor or 'an unknown identity'}, and no Lockmaster promotion made it; "
            f"{_signed_by_lockmaster(session, change.digest)}")


def _signed_by_lockmaster(session, digest: str | None) -> str:
    """Whether Lockmaster built and signed the digest (its build record holds a signature)."""
    build = session.scalars(select(Build).where(Build.digest == digest)).first() \
        if digest else None
    if build is not None and (build.proof or {}).get("signature"):
        return f"the digest carries Lockmaster's signature (build {build.id})"
    return "the digest carries no Lockmaster signature"


def _target(change: Change) -> str:
    tag = f":{change.tag}" if change.tag else ""
    return f"{change.repository}{tag}@{change.digest}"


def recent_alerts(db: Database, limit: int = 5) -> list[RegistryEvent]:
    """The newest integrity alerts, for the dashboard banner."""
    with db.session() as session:
        query = select(RegistryEvent).where(RegistryEvent.alert.is_not(None))
        return list(session.scalars(query.order_by(RegistryEvent.id.desc()).limit(limit)))
