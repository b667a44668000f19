"""Retention of the record (`lockmaster gc`): an accepted delivery's body and headers go after
a while, its row stays as a tombstone (provider, delivery id, outcome, builds) so dedupe and
lineage hold; rejected deliveries' details and counts go; the audit trail stays unless told."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, func, or_, select, update

from config import RetentionPolicy
from record.audit import AuditEvent
from record.db import Database
from record.models import Delivery, RejectedDeliveries, utcnow
from states import DeliveryOutcome


def apply_retention(db: Database, policy: RetentionPolicy, dry_run: bool = False,
                    now: datetime | None = None) -> dict[str, int]:
    """Drop (or with dry_run only count) what the retention policy no longer keeps."""
    now = now or utcnow()
    kept_until = now - timedelta(days=policy.deliveries_days)
    rejected_until = now - timedelta(days=policy.rejected_days)
    bodies = [Delivery.outcome != "rejected", Delivery.received_at < kept_until,
              or_(Delivery.body.is_not(None), Delivery.headers.is_not(None))]
    rejected = [Delivery.outcome == DeliveryOutcome.REJECTED, Delivery.received_at < rejected_until]
    counts = [RejectedDeliveries.minute < rejected_until]
    audit = [AuditEvent.at < now - timedelta(days=policy.audit_days)] \
        if policy.audit_days else [False]
    with db.session() as session:
        report = {
            "delivery bodies and headers": _count(session, Delivery, bodies),
            "rejected delivery details": _count(session, Delivery, rejected),
            "rejected delivery counts": _count(session, RejectedDeliveries, counts),
            "audit events": _count(session, AuditEvent, audit),
        }
        if not dry_run:
            session.execute(update(Delivery).where(*bodies).values(body=None, headers=None))
            session.execute(delete(Delivery).where(*rejected))
            session.execute(delete(RejectedDeliveries).where(*counts))
            session.execute(delete(AuditEvent).where(*audit))
    return report


def _count(session, model, conditions: list) -> int:
    return session.scalar(select(func.count()).select_from(model).where(*conditions))
