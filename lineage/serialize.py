"""The JSON shapes of lineage records, as DESIGN.md's external contract fixes them."""

from __future__ import annotations

from datetime import datetime

from lineage.models import Build


def iso(moment: datetime | None) -> str | None:
    """ISO 8601 in UTC with a Z, or None."""
    return moment.isoformat() + "Z" if moment else None


def build_document(build: Build) -> dict:
    """A build as GET /api/v1/builds/{id} returns it."""
    image = None
    if build.digest:
        image = {"repository": build.image_repository, "digest": build.digest,
                 "tags": list(build.tags or []), "size": build.size}
    return {
        "id": build.id,
        "repository": build.repository,
        "ref": build.ref,
        "commit": {"sha": build.commit_sha, "message": build.commit_message,
                   "author": build.commit_author},
        "pusher": build.pusher,
        "status": build.status,
        "error": build.error,
        "failed_stage": build.failed_stage,
        "image": image,
        "checks": [],
        "promotions": [],
        "history": list(build.history or []),
        "stages": dict(build.stages or {}),
        "build_args": dict(build.build_args or {}),
        "retry_of": build.retry_of,
        "cancelled_by": build.cancelled_by,
        "links": {"self": f"/api/v1/builds/{build.id}",
                  "log": f"/api/v1/builds/{build.id}/log",
                  "cancel": f"/api/v1/builds/{build.id}/cancel",
                  "retry": f"/api/v1/builds/{build.id}/retry"},
        "created_at": iso(build.created_at),
        "started_at": iso(build.started_at),
        "finished_at": iso(build.finished_at),
    }
