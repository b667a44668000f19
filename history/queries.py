"""The questions the history API and CLI answer, as queries over the lineage record."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from config import RepositoryConfig, Settings
from history.filters import AuditFilter, BuildFilter
from history.message_search import newest_builds, newest_with_message
from record import environments
from record.audit import AuditEvent
from record.documents import build_document, build_summary, iso, promotion_document
from record.models import ROW_ONLY, Build
from record.promotions import Promotion
from states import BuildStatus, PromotionStatus


def id_floor(moment: datetime) -> str:
    """The smallest build id made at moment (ids carry their creation time in ms)."""
    millis = int((moment - datetime(1970, 1, 1)).total_seconds() * 1000)
    raw = f"{max(millis, 0):012x}" + "0" * 20
    return f"{raw[:8]}-{raw[8:12]}-{raw[12:16]}-{raw[16:20]}-{raw[20:]}"


def sha_prefix(prefix: str) -> tuple:
    """Commit ids starting with a lower-case hex prefix, as a range an index can answer."""
    return Build.commit_sha >= prefix, Build.commit_sha < prefix + "g"


def list_builds(session: Session, wanted: BuildFilter, readable: list[str] | None = None) \
        -> tuple[list[Build], str | None]:
    """One page of builds, newest first, and the cursor of the next page (None at the end);
    only builds of the readable repositories (None: all), filtered before the page is cut."""
    conditions = []
    if readable is not None:
        conditions.append(Build.repository.in_(readable))
    if wanted.repository:
        conditions.append(Build.repository == wanted.repository)
    if wanted.ref:
        refs = [wanted.ref] if wanted.ref.startswith("refs/") else \
            [f"refs/heads/{wanted.ref}", f"refs/tags/{wanted.ref}"]
        conditions.append(Build.ref.in_(refs))
    if wanted.status:
        conditions.append(Build.status == wanted.status)
    if wanted.sha:
        conditions.extend(sha_prefix(wanted.sha))
    if wanted.pusher:
        conditions.append(Build.pusher == wanted.pusher)
    if wanted.digest:
        conditions += [Build.digest >= wanted.digest, Build.digest < wanted.digest + "g"]
    if wanted.since:
        conditions.append(Build.id >= id_floor(wanted.since))
    if wanted.until:
        conditions.append(Build.id < id_floor(wanted.until + timedelta(milliseconds=1)))
    if wanted.cursor:
        conditions.append(Build.id < wanted.cursor)
    if wanted.text:
        builds = newest_with_message(session, conditions, wanted.text, wanted.limit + 1)
    else:
        builds = newest_builds(session, conditions, wanted.limit + 1)
    page = builds[:wanted.limit]
    return page, page[-1].id if len(builds) > wanted.limit else None


def builds_of_commit(session: Session, prefix: str, readable: list[str] | None = None) \
        -> list[Build]:
    """Every build of the commit(s) whose id starts with prefix, newest first."""
    query = select(Build).options(ROW_ONLY).where(*sha_prefix(prefix))
    if readable is not None:
        query = query.where(Build.repository.in_(readable))
    return list(session.scalars(query.order_by(Build.id.desc()).limit(200)))


def image_lineage(session: Session, settings: Settings, digest: str) -> dict | None:
    """Where a digest came from, who let it where, what it replaced and where it is now."""
    promotions = list(session.scalars(select(Promotion).where(Promotion.digest == digest)
                                      .order_by(Promotion.id)))
    builds = list(session.scalars(select(Build).where(Build.digest == digest)
                                  .order_by(Build.id)))
    builds += [p.build for p in promotions if p.build not in builds]
    if not builds:
        return None
    build = builds[0]
    repo = settings.repository_named(build.repository)
    image = promotions[0].image if promotions else (repo.image if repo else None)
    document = build_document(build)
    return {
        "digest": digest,
        "image": image,
        "build": document,
        "other_builds": [b.id for b in builds[1:]],
        "commit": {"sha": build.commit_sha, "message": build.commit_message,
                   "author": build.commit_author, "ref": build.ref, "pusher": build.pusher},
        "dockerfile": build.dockerfile,
        "context": build.context,
        "build_args": dict(build.build_args or {}),
        "gates": document["checks"],
        "approvals": [a for p in promotions for a in promotion_document(p)["approvals"]],
        "promotions": [promotion_document(p) for p in promotions],
        "environments": _whereabouts(session, settings, image, builds, promotions),
    }


def _whereabouts(session: Session, settings: Settings, image: str | None, builds: list[Build],
                 promotions: list[Promotion]) -> list[dict]:
    places = []
    staged = [b for b in builds if b.status == BuildStatus.STAGED]
    if staged:
        newest = session.scalar(select(Build.digest).where(
            Build.image_repository == staged[-1].image_repository,
            Build.status == BuildStatus.STAGED)
            .order_by(Build.id.desc()).limit(1))
        places.append({"environment": "staging", "repository": staged[-1].image_repository,
                       "tags": list(staged[-1].tags or []), "since": iso(staged[-1].finished_at),
                       "current": newest == staged[-1].digest})
    promoted = [p for p in promotions if p.status == PromotionStatus.PROMOTED]
    for env in dict.fromkeys(p.to_environment for p in promoted):
        last = [p for p in promoted if p.to_environment == env][-1]
        now = environments.current(session, last.image, env)
        places.append({"environment": env,
                       "repository": settings.registry.repository(env, last.image),
                       "tags": list(last.tags or []), "since": iso(last.finished_at),
                       "current": bool(now and now.digest == last.digest)})
    return places


def repository_overview(session: Session, settings: Settings, repo: RepositoryConfig,
                        last: int = 10) -> dict:
    """A configured repository: its settings, last builds and what each environment serves."""
    builds = list(session.scalars(select(Build).options(ROW_ONLY)
                                  .where(Build.repository == repo.name)
                                  .order_by(Build.id.desc()).limit(last)))
    return {**repository_config(repo),
            "last_builds": [build_summary(b) for b in builds],
            "environments": [_serving(session, settings, repo, env)
                             for env in repo.promotion.environments]}


def repository_config(repo: RepositoryConfig) -> dict:
    """The configuration summary of a repository (no secrets)."""
    return {"name": repo.name, "provider": repo.provider, "image": repo.image,
            "branches": list(repo.branches), "tags": list(repo.tags),
            "dockerfile": repo.dockerfile, "context": repo.context,
            "build_args": sorted(repo.build_args),
            "environments": list(repo.promotion.environments),
            "approvals": repo.promotion.approvals,
            "links": {"self": f"/api/v1/repositories/{repo.name}"}}


def _serving(session: Session, settings: Settings, repo: RepositoryConfig, env: str) -> dict:
    where = {"environment": env, "repository": settings.registry.repository(env, repo.image)}
    if env == "staging":
        build = session.scalar(select(Build).where(
            Build.repository == repo.name, Build.status == BuildStatus.STAGED)
            .order_by(Build.id.desc()).limit(1))
        return {**where, "digest": build.digest if build else None,
                "build_id": build.id if build else None,
                "since": iso(build.finished_at) if build else None}
    now = environments.current(session, repo.image, env)
    return {**where, "digest": now.digest if now else None,
            "build_id": now.build_id if now else None,
            "since": iso(now.finished_at) if now else None}


def list_audit(session: Session, wanted: AuditFilter, readable: list[str] | None = None) \
        -> tuple[list[AuditEvent], int | None]:
    """One page of audit events, newest first, and the next page's cursor; only events about
    the readable repositories (None: all events)."""
    query = select(AuditEvent).order_by(AuditEvent.id.desc()).limit(wanted.limit + 1)
    if readable is not None:
        query = query.where(AuditEvent.repository.in_(readable))
    if wanted.actor:
        query = query.where(AuditEvent.actor == wanted.actor)
    if wanted.action:
        query = query.where(AuditEvent.action == wanted.action)
    if wanted.since:
        query = query.where(AuditEvent.at >= wanted.since)
    if wanted.until:
        query = query.where(AuditEvent.at <= wanted.until)
    if wanted.cursor:
        query = query.where(AuditEvent.id < wanted.cursor)
    events = list(session.scalars(query))
    page = events[:wanted.limit]
    return page, page[-1].id if len(events) > wanted.limit else None


def audit_document(event: AuditEvent) -> dict:
    """An audit event as GET /api/v1/audit lists it."""
    return {"id": event.id, "at": iso(event.at), "actor": event.actor, "action": event.action,
            "target": event.target, "outcome": event.outcome, "detail": event.detail,
            "data": dict(event.data or {})}


