"""Models of the gates' record: check results, build artifacts (SBOM) and the advisory database."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, DateTime, ForeignKey, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from record.models import Base, utcnow


class CheckRecord(Base):
    """One gate's (or one regression test's) result for one build."""

    __tablename__ = "check_results"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    build_id: Mapped[str] = mapped_column(ForeignKey("builds.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(40))
    test: Mapped[str | None] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(10))
    summary: Mapped[str] = mapped_column(Text)
    details: Mapped[dict] = mapped_column(JSON, default=dict)
    duration_ms: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class Artifact(Base):
    """A file a build produced besides its image (the CycloneDX SBOM)."""

    __tablename__ = "build_artifacts"

    build_id: Mapped[str] = mapped_column(ForeignKey("builds.id"), primary_key=True)
    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    media_type: Mapped[str] = mapped_column(String(100))
    content: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class Advisory(Base):
    """One OSV record of the offline advisory database."""

    __tablename__ = "advisories"

    id: Mapped[str] = mapped_column(String(100), primary_key=True)
    modified: Mapped[str | None] = mapped_column(String(40))
    record: Mapped[dict] = mapped_column(JSON)
    imported_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)


class AdvisoryPackage(Base):
    """A package an advisory names, so that lookups by package stay fast."""

    __tablename__ = "advisory_packages"
    __table_args__ = (Index("ix_advisory_packages_lookup", "ecosystem", "name"),)

    advisory_id: Mapped[str] = mapped_column(
        ForeignKey("advisories.id", ondelete="CASCADE"), primary_key=True)
    ecosystem: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(255), primary_key=True)


class LayerResult(Base):
    """What a gate found in one layer, by its content digest: valid for every image holding it."""

    __tablename__ = "layer_results"

    diff_id: Mapped[str] = mapped_column(String(80), primary_key=True)
    kind: Mapped[str] = mapped_column(String(120), primary_key=True)
    result: Mapped[dict] = mapped_column(JSON)
    used_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)

