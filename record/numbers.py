"""Per-repository build numbers (`acme/web #42`), given in the transaction that records a build.

A counter row per repository is bumped with one UPDATE: on PostgreSQL the row stays locked until
the recording transaction commits, so concurrent recorders of one repository queue behind each
other instead of reading the same maximum; SQLite allows one writer at a time anyway."""

from __future__ import annotations

from sqlalchemy import Integer, String, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, Session, mapped_column

from record.models import Base, Build


class BuildCounter(Base):
    """The last build number given in a repository."""

    __tablename__ = "build_counters"

    repository: Mapped[str] = mapped_column(String(255), primary_key=True)
    last: Mapped[int] = mapped_column(Integer, default=0)


def number_new_builds(session: Session, _context, _instances) -> None:
    """before_flush: give each new build without a number the next ones of its repository."""
    waiting: dict[str, list[Build]] = {}
    for row in session.new:
        if isinstance(row, Build) and row.number is None:
            waiting.setdefault(row.repository, []).append(row)
    # One order for every transaction: two recorders never wait on each other's rows.
    for repository in sorted(waiting):
        builds = sorted(waiting[repository], key=lambda b: b.id or "")
        last = _take(session, repository, len(builds))
        for offset, build in enumerate(builds):
            build.number = last - len(builds) + 1 + offset


def _take(session: Session, repository: str, count: int) -> int:
    """Bump the repository's counter by count; the new last number."""
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    session.execute(insert(BuildCounter).values(repository=repository, last=0)
                    .on_conflict_do_nothing(index_elements=["repository"]))
    return session.execute(update(BuildCounter).where(BuildCounter.repository == repository)
                           .values(last=BuildCounter.last + count)
                           .returning(BuildCounter.last)).scalar_one()


def build_by_number(session: Session, repository: str, number: int) -> Build | None:
    """The build `repository #number`, or None."""
    return session.scalar(select(Build).where(Build.repository == repository,
                                              Build.number == number))
