"""Which pushes asked for a build: one row per (build, delivery, ref), so one build of a commit
can carry several refs (and their image tags)."""

from __future__ import annotations

from sqlalchemy import ForeignKey, Index, Integer, String, Text, select
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from record.models import Base, Build, Delivery


class BuildTrigger(Base):
    """One push of one ref (by webhook, replay or by hand) that a build answers."""

    __tablename__ = "build_triggers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    build_id: Mapped[str] = mapped_column(ForeignKey("builds.id"), index=True)
    delivery_pk: Mapped[int | None] = mapped_column(ForeignKey("deliveries.id"), index=True)
    repository: Mapped[str] = mapped_column(String(255))
    ref: Mapped[str] = mapped_column(Text)
    __table_args__ = (Index("ix_build_triggers_repository_ref", "repository", "ref"),)

    build: Mapped[Build] = relationship(back_populates="triggers")
    delivery: Mapped[Delivery | None] = relationship(back_populates="triggers")


def refs_of(build: Build) -> list[str]:
    """Every ref a build was asked for, first one first (empty refs of by-SHA triggers left out)."""
    refs = [t.ref for t in build.triggers if t.ref]
    return list(dict.fromkeys(refs)) or ([build.ref] if build.ref else [])


def current_refs(session: Session, build: Build) -> list[str]:
    """The refs whose newest build is this one: only those may move their tag to its image."""
    # Led by builds(repository, id): only builds newer than this one are read.
    newer = select(BuildTrigger.ref).join(Build, Build.id == BuildTrigger.build_id).where(
        Build.repository == build.repository, Build.id > build.id,
        Build.status.not_in(("failed", "cancelled", "superseded", "rejected")))
    taken = set(session.scalars(newer))
    return [ref for ref in refs_of(build) if ref not in taken]
