"""A newer push to a ref makes older queued builds of that ref superseded: never built.

With `supersede_running: true` on the repository, older builds of the ref that are already
running are cancelled too (on the engine, through the build cancellation)."""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from record.models import Build, utcnow
from record.triggers import BuildTrigger, current_refs, refs_of
from states import BuildStatus

RUNNING = ("cloning", "building", "checking", "pushing")


def supersede_older(session: Session, builds: list[Build]) -> list[str]:
    """Mark superseded every older queued build whose refs all have a newer build; their ids."""
    superseded = []
    for build in builds:
        taken = set(refs_of(build))
        for older in _older_queued(session, build):
            if not taken.issuperset(refs_of(older)) and current_refs(session, older):
                continue  # another ref still wants this commit
            if _mark(session, older, build, refs_of(build)):
                superseded.append(older.id)
    return superseded


def restore(session: Session, build_ids: list[str]) -> None:
    """Undo supersede_older for a delivery that is being forgotten (its job never queued)."""
    for build in session.scalars(select(Build).where(Build.id.in_(build_ids),
                                                     Build.status == BuildStatus.SUPERSEDED)):
        build.status, build.finished_at, build.error = "queued", None, None
        build.history = build.history[:-1]


def running_to_cancel(session: Session, builds: list[Build]) -> list[str]:
    """Older running builds whose refs all have a newer build (none still wants them)."""
    return [older.id for build in builds
            for older in _older(session, build, RUNNING)
            if not current_refs(session, older)]


def _older_queued(session, build: Build) -> list[Build]:
    return _older(session, build, ("queued",))


def _older(session, build: Build, statuses: tuple[str, ...]) -> list[Build]:
    refs = [ref for ref in refs_of(build) if ref]
    # Led by builds(status, id): only builds in these states are read, however long the history.
    wanted = select(BuildTrigger.id).where(BuildTrigger.build_id == Build.id,
                                           BuildTrigger.ref.in_(refs))
    query = select(Build).where(Build.status.in_(statuses), Build.id < build.id,
                                Build.repository == build.repository, wanted.exists())
    return list(session.scalars(query))


def _mark(session, older: Build, newer: Build, refs: list[str]) -> bool:
    """Compare-and-set queued → superseded, so a worker that took the build meanwhile wins."""
    now = utcnow()
    entry = {"status": "superseded", "at": now.isoformat() + "Z", "by": newer.id}
    # No session synchronisation: the session may hold hundreds of builds (a recorder's batch).
    result = session.execute(
        update(Build).where(Build.id == older.id, Build.status == BuildStatus.QUEUED).values(
            status=BuildStatus.SUPERSEDED, finished_at=now, history=[*older.history, entry],
            error=f"superseded by build {newer.id}, a newer push to {', '.join(refs)}"),
        execution_options={"synchronize_session": False})
    return result.rowcount == 1
