"""SQLAlchemy models of the lineage record: deliveries and builds."""

from __future__ import annotations

import os
import threading
import time
import uuid
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import (
    DeclarativeBase,
    Mapped,
    deferred,
    lazyload,
    mapped_column,
    relationship,
)

from states import BuildStatus

if TYPE_CHECKING:
    from record.checks import CheckRecord
    from record.notifications import Notification
    from record.promotions import Promotion
    from record.triggers import BuildTrigger


class Base(DeclarativeBase):
    """Declarative base of all lineage tables."""


def utcnow() -> datetime:
    """The current time in UTC, without tzinfo (what every backend stores alike)."""
    return datetime.now(UTC).replace(tzinfo=None)


def new_build_id() -> str:
    """A time-ordered UUID (version 7 layout), so that ids sort newest-last; ids made in one
    process within one millisecond still increase."""
    global _last_id
    millis = time.time_ns() // 1_000_000
    raw = millis.to_bytes(6, "big") + os.urandom(10)
    with _id_lock:
        value = int.from_bytes(raw, "big")
        if value >> 80 <= _last_id >> 80:
            value = _last_id + (1 << 16)  # same (or earlier) millisecond: step past the last
        _last_id = value
    value = (value & ~(0xF << 76)) | (0x7 << 76)
    value = (value & ~(0x3 << 62)) | (0x2 << 62)
    return str(uuid.UUID(int=value))


_last_id = 0
_id_lock = threading.Lock()


class Delivery(Base):
    """One webhook delivery as received, with what Lockmaster made of it."""

    __tablename__ = "deliveries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    provider: Mapped[str] = mapped_column(String(20))
    delivery_id: Mapped[str | None] = mapped_column(String(200))
    # provider:delivery_id for deliveries that were authentic; NULL for rejected ones, so a
    # forged delivery can never block the real one with the same id.
    dedupe_key: Mapped[str | None] = mapped_column(String(240), unique=True)
    event: Mapped[str | None] = mapped_column(String(100))
    repository: Mapped[str | None] = mapped_column(String(255))
    ref: Mapped[str | None] = mapped_column(Text)
    outcome: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str | None] = mapped_column(Text)
    status_code: Mapped[int] = mapped_column(Integer)
    received_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)
    # What `lockmaster deliveries replay` needs: the headers that matter and the raw body
    # (authentic deliveries only), and which delivery a replay re-ran.
    headers: Mapped[dict | None] = mapped_column(JSON)
    body: Mapped[bytes | None] = deferred(mapped_column(LargeBinary))
    replay_of: Mapped[int | None] = mapped_column(Integer)

    builds: Mapped[list[Build]] = relationship(back_populates="delivery")
    triggers: Mapped[list[BuildTrigger]] = relationship(
        back_populates="delivery", order_by="BuildTrigger.id")


class RejectedDeliveries(Base):
    """How many deliveries no configured secret signed, per provider, reason and minute (the
    detail of at most a thousand a day is kept as Delivery rows)."""

    __tablename__ = "rejected_deliveries"
    __table_args__ = (UniqueConstraint("provider", "reason", "minute",
                                       name="uq_rejected_deliveries_minute"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    provider: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str] = mapped_column(String(40))
    minute: Mapped[datetime] = mapped_column(DateTime, index=True)
    count: Mapped[int] = mapped_column(Integer, default=0)


# A build's own row only: its checks, triggers, notifications and promotions load eagerly
# (one query each), which lists and status changes do not need.
ROW_ONLY = lazyload("*")


class Build(Base):
    """One build of one commit: from queued to staged (or how it ended)."""

    __tablename__ = "builds"
    __table_args__ = (
        Index("ix_builds_repository_id", "repository", "id"),
        Index("ix_builds_status_id", "status", "id"),
        UniqueConstraint("dedupe_key", name="uq_builds_dedupe_key"),
        UniqueConstraint("repository", "number", name="uq_builds_repository_number"),
        # The history API's filters and lookups lead with these (migration 0008).
        Index("ix_builds_pusher_id", "pusher", "id"),
        Index("ix_builds_ref_id", "ref", "id"),
        Index("ix_builds_image_repository_id", "image_repository", "id"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_build_id)
    delivery_pk: Mapped[int | None] = mapped_column(ForeignKey("deliveries.id"))
    repository: Mapped[str] = mapped_column(String(255))
    provider: Mapped[str] = mapped_column(String(20))
    ref: Mapped[str] = mapped_column(Text)
    commit_sha: Mapped[str] = mapped_column(String(64), index=True)
    commit_message: Mapped[str | None] = mapped_column(Text)
    commit_author: Mapped[str | None] = mapped_column(String(255))
    pusher: Mapped[str | None] = mapped_column(String(255))
    # "host:account id" of who pushed ("lockmaster:<user>" for a build by hand); four-eyes
    # compares these, never display names, which anyone can change.
    pusher_accounts: Mapped[list | None] = mapped_column(JSON)
    source_url: Mapped[str | None] = mapped_column(Text)
    clone_url: Mapped[str] = mapped_column(Text)
    dockerfile: Mapped[str] = mapped_column(Text)
    context: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20), default=BuildStatus.QUEUED)
    # repository@sha#settings while the build may still give an image; one build per commit.
    dedupe_key: Mapped[str | None] = mapped_column(String(400))
    error: Mapped[str | None] = mapped_column(Text)
    failed_stage: Mapped[str | None] = mapped_column(String(20))
    image_repository: Mapped[str | None] = mapped_column(Text)
    digest: Mapped[str | None] = mapped_column(String(80), index=True)
    tags: Mapped[list] = mapped_column(JSON, default=list)
    size: Mapped[int | None] = mapped_column(BigInteger)
    history: Mapped[list] = mapped_column(JSON, default=list)
    log: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(DateTime)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime)
    # Added by migration 0004 (isolated, observable, cancellable builds).
    stages: Mapped[dict] = mapped_column(JSON, default=dict)
    build_args: Mapped[dict] = mapped_column(JSON, default=dict)
    retry_of: Mapped[str | None] = mapped_column(String(36), index=True)
    cancel_requested_at: Mapped[datetime | None] = mapped_column(DateTime)
    cancelled_by: Mapped[str | None] = mapped_column(String(255))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # Added by migration 0013: `acme/web #42`, given when the build is first flushed.
    number: Mapped[int | None] = mapped_column(Integer)
    # Added by migration 0015: digests of the image's signature and attestations (or the
    # admin override that lets it be promoted without them).
    proof: Mapped[dict | None] = mapped_column(JSON)

    delivery: Mapped[Delivery | None] = relationship(back_populates="builds")
    triggers: Mapped[list[BuildTrigger]] = relationship(
        back_populates="build", lazy="selectin", order_by="BuildTrigger.id")
    checks: Mapped[list[CheckRecord]] = relationship(
        lazy="selectin", order_by="CheckRecord.position", viewonly=True)
    notifications: Mapped[list[Notification]] = relationship(
        back_populates="build", lazy="selectin", order_by="Notification.id")
    promotions: Mapped[list[Promotion]] = relationship(
        back_populates="build", lazy="selectin", order_by="Promotion.id")
