"""SQLAlchemy models of approvals and promotions."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, DateTime, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from record.models import Base, Build, utcnow
from states import PromotionStatus


class Promotion(Base):
    """One digest moving from one environment to the next (or back, in a rollback)."""

    __tablename__ = "promotions"
    __table_args__ = (
        Index("ix_promotions_image_env", "image", "to_environment", "id"),
        # The history API's digest lookups and image timelines (migration 0008).
        Index("ix_promotions_digest", "digest"),
        Index("ix_promotions_timeline", "image", "to_environment", "status", "finished_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # build:environment:digest for approval-driven promotions, so concurrent approvals
    # can only ever open one; rollbacks get a key of their own.
    request_key: Mapped[str] = mapped_column(String(255), unique=True)
    kind: Mapped[str] = mapped_column(String(20), default="promotion")
    build_id: Mapped[str] = mapped_column(ForeignKey("builds.id"), index=True)
    image: Mapped[str] = mapped_column(String(255))
    digest: Mapped[str] = mapped_column(String(80))
    from_environment: Mapped[str] = mapped_column(String(50))
    to_environment: Mapped[str] = mapped_column(String(50))
    status: Mapped[str] = mapped_column(String(20), default=PromotionStatus.PENDING)
    tags: Mapped[list] = mapped_column(JSON, default=list)
    actor: Mapped[str | None] = mapped_column(String(100))
    reason: Mapped[str | None] = mapped_column(Text)
    replaced_digest: Mapped[str | None] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(DateTime)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime)
    # Added by migration 0015: what was verified and the proof tags written in the target.
    proof: Mapped[dict | None] = mapped_column(JSON)

    build: Mapped[Build] = relationship(back_populates="promotions")
    approvals: Mapped[list[Approval]] = relationship(
        back_populates="promotion", lazy="selectin", order_by="Approval.id")


class Approval(Base):
    """One person's decision (approve or reject) on one digest for one promotion."""

    __tablename__ = "approvals"
    __table_args__ = (UniqueConstraint("promotion_id", "username", name="uq_approvals_person"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    promotion_id: Mapped[int] = mapped_column(ForeignKey("promotions.id"), index=True)
    username: Mapped[str] = mapped_column(String(100))
    decision: Mapped[str] = mapped_column(String(20))
    digest: Mapped[str] = mapped_column(String(80))
    comment: Mapped[str | None] = mapped_column(Text)
    self_approval: Mapped[bool] = mapped_column(default=False)
    via: Mapped[str] = mapped_column(String(20), default="web")
    at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    promotion: Mapped[Promotion] = relationship(back_populates="approvals")
