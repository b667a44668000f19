"""The gates' link to the lineage record: storing results, reading earlier builds and advisories."""

from __future__ import annotations

from sqlalchemy import select

from builder.checks.advisorydb import records_for
from builder.checks.base import CheckResult
from record.checks import Artifact, CheckRecord
from record.db import Database
from record.models import Build
from states import BuildStatus

SBOM_MEDIA_TYPE = "application/vnd.cyclonedx+json"


def store_results(db: Database, build_id: str, results: list[CheckResult],
                  sbom: bytes | None) -> None:
    """Replace the build's check results (a retried build keeps only its last run)."""
    with db.session() as session:
        for old in session.scalars(select(CheckRecord).where(CheckRecord.build_id == build_id)):
            session.delete(old)
        artifact = session.get(Artifact, (build_id, "sbom"))
        if artifact is not None:
            session.delete(artifact)
        session.flush()
        session.add_all(CheckRecord(build_id=build_id, position=n, name=r.name, test=r.test,
                                    status=r.status.value, summary=r.summary,
                                    details=r.details, duration_ms=r.duration_ms)
                        for n, r in enumerate(results))
        if sbom is not None:
            session.add(Artifact(build_id=build_id, name="sbom", media_type=SBOM_MEDIA_TYPE,
                                 content=sbom))


def previous_size(db: Database, build: Build) -> dict | None:
    """The size measured for the last staged build of the same repository and ref."""
    with db.session() as session:
        earlier = session.scalars(
            select(Build).where(Build.repository == build.repository, Build.ref == build.ref,
                                Build.status == BuildStatus.STAGED, Build.id != build.id)
            .order_by(Build.id.desc()).limit(1)).first()
        if earlier is None:
            return None
        size = next((c.details for c in earlier.checks if c.name == "size"), None)
        return {**size, "build_id": earlier.id} if size else None


def advisories_lookup(db: Database):
    """A function giving the OSV records for (ecosystem, name) pairs."""
    return lambda names: records_for(db, names)
