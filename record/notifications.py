"""The record of outgoing notifications and how their delivery went."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, DateTime, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from record.models import Base, Build, utcnow
from states import NotificationStatus


class Notification(Base):
    """One message to one configured target, with its delivery attempts; it is about a build
    or, for an integrity alert, about a registry event (which has no build)."""

    __tablename__ = "notifications"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    build_id: Mapped[str | None] = mapped_column(ForeignKey("builds.id"), index=True)
    registry_event_id: Mapped[int | None] = mapped_column(
        ForeignKey("registry_events.id", name="fk_notifications_registry_event_id"), index=True)
    event: Mapped[str] = mapped_column(String(20))
    url: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(10))
    secret_env: Mapped[str | None] = mapped_column(String(200))
    body: Mapped[dict] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(20), default=NotificationStatus.PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer, default=5)
    backoff_seconds: Mapped[int] = mapped_column(Integer, default=2)
    last_status_code: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime)

    build: Mapped[Build | None] = relationship(back_populates="notifications")
