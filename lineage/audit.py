"""The audit trail: every approval, rejection, promotion, rollback, login and refusal."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, DateTime, Integer, String, Text
from sqlalchemy.orm import Mapped, Session, mapped_column

from lineage.db import Database
from lineage.models import Base, utcnow


class AuditEvent(Base):
    """One thing that happened, who did it, to what, and whether it was allowed."""

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)
    actor: Mapped[str | None] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(40))
    target: Mapped[str | None] = mapped_column(Text)
    outcome: Mapped[str] = mapped_column(String(20), default="ok")
    detail: Mapped[str | None] = mapped_column(Text)
    data: Mapped[dict] = mapped_column(JSON, default=dict)


def audit(db: Database | Session, action: str, actor: str | None, target: str | None = None,
          outcome: str = "ok", detail: str | None = None, **data) -> None:
    """Record one audit event (in the given session, or in its own transaction)."""
    event = AuditEvent(action=action, actor=actor, target=target, outcome=outcome,
                       detail=detail, data=data, at=utcnow())
    if isinstance(db, Session):
        db.add(event)
        return
    with db.session() as session:
        session.add(event)
