"""The audit trail: every approval, rejection, promotion, rollback, login and refusal."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, DateTime, Index, Integer, String, Text, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from record.db import Database
from record.models import Base, Build, utcnow

BUILD_TARGET = "build "


class AuditEvent(Base):
    """One thing that happened, who did it, to what, and whether it was allowed."""

    __tablename__ = "audit_events"
    __table_args__ = (
        Index("ix_audit_events_repository_id", "repository", "id"),
        # The history API's filters by actor and by action (migration 0008).
        Index("ix_audit_events_actor_id", "actor", "id"),
        Index("ix_audit_events_action_id", "action", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)
    actor: Mapped[str | None] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(40))
    target: Mapped[str | None] = mapped_column(Text)
    outcome: Mapped[str] = mapped_column(String(20), default="ok")
    detail: Mapped[str | None] = mapped_column(Text)
    data: Mapped[dict] = mapped_column(JSON, default=dict)
    # The source repository it concerns, if any: who may read the event follows from it.
    repository: Mapped[str | None] = mapped_column(String(255))


def audit(db: Database | Session, action: str, actor: str | None, target: str | None = None,
          outcome: str = "ok", detail: str | None = None, repository: str | None = None,
          **data) -> None:
    """Record one audit event (in the given session, or in its own transaction); a target
    `build <id>` names its repository."""
    event = AuditEvent(action=action, actor=actor, target=target, outcome=outcome,
                       detail=detail, data=data, at=utcnow(), repository=repository)
    if isinstance(db, Session):
        _add(db, event)
        return
    with db.session() as session:
        _add(session, event)


def _add(session: Session, event: AuditEvent) -> None:
    if event.repository is None and (event.target or "").startswith(BUILD_TARGET):
        event.repository = session.scalar(select(Build.repository).where(
            Build.id == event.target.removeprefix(BUILD_TARGET)[:36]))
    session.add(event)
