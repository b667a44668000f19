"""Indexes the history API's filters and lookups lead with (migration 0008)."""

from __future__ import annotations

from sqlalchemy import Index

from lineage.audit import AuditEvent
from lineage.models import Build
from promotion.models import Promotion

HISTORY_INDEXES = (
    Index("ix_builds_pusher_id", Build.pusher, Build.id),
    Index("ix_builds_ref_id", Build.ref, Build.id),
    Index("ix_builds_image_repository_id", Build.image_repository, Build.id),
    Index("ix_promotions_digest", Promotion.digest),
    Index("ix_promotions_timeline", Promotion.image, Promotion.to_environment,
          Promotion.status, Promotion.finished_at),
    Index("ix_audit_events_actor_id", AuditEvent.actor, AuditEvent.id),
    Index("ix_audit_events_action_id", AuditEvent.action, AuditEvent.id),
)
