"""What the UI pages show, gathered from the record, the registry config and the mirror."""

from __future__ import annotations

import logging

import git
from flask_login import current_user
from sqlalchemy import func, select

from auth.access import may, readable_repositories
from auth.roles import may_approve
from bootstrap import Runtime
from promotion.changes import commits_between
from promotion.facts import gate_outcomes
from promotion.policy import next_environment
from record import environments
from record.accounts import Identity
from record.checks import Artifact
from record.documents import check_document
from record.models import Build
from states import BuildStatus

log = logging.getLogger(__name__)


def dashboard(runtime: Runtime) -> dict:
    """Recent builds, builds waiting for a decision, and each image per environment."""
    settings = runtime.settings
    readable = readable_repositories(current_user, settings)
    query = select(Build).order_by(Build.id.desc()).limit(30)
    if readable is not None:
        query = query.where(Build.repository.in_(readable))
    repositories = [r for r in settings.repositories if readable is None or r.name in readable]
    with runtime.db.session() as session:
        builds = list(session.scalars(query))
        pending = []
        for build in builds:
            repo = settings.repository_named(build.repository)
            if repo and build.status == BuildStatus.STAGED:
                target = next_environment(repo.promotion,
                                          environments.reached(session, repo.promotion, build))
                if target:
                    pending.append((build, target))
        serving = [(repo.image, env, environments.current(session, repo.image, env))
                   for repo in repositories for env in repo.promotion.environments[1:]]
    return {"builds": builds, "pending": pending, "serving": serving}


def build_view(runtime: Runtime, build_id: str) -> dict | None:
    """Everything the build page shows, or None if there is no such build."""
    with runtime.db.session() as session:
        build = session.get(Build, build_id)
        if build is None or not may(current_user, "read", build.repository):
            return None
        repo = runtime.settings.repository_named(build.repository)
        rules = repo.promotion if repo else None
        where = environments.reached(session, rules, build) if rules else None
        target = next_environment(rules, where) if rules else None
        last = rules.environments[-1] if rules else "production"
        live = environments.current(session, repo.image, last) if repo else None
        live_build = live.build if live else None
        request = environments.open_request(session, build, target) if target else None
        view = {"build": build, "rules": rules, "where": where, "target": target,
                "live": live, "live_build": live_build, "request": request,
                "gates": gate_outcomes(session, build), "promotions": list(build.promotions),
                "checks": [check_document(c) for c in build.checks],
                "has_sbom": session.scalar(select(Artifact.name).where(
                    Artifact.build_id == build.id, Artifact.name == "sbom")) is not None,
                "last": last, "image": repo.image if repo else None}
    view["changes"], view["changes_error"] = _changes(runtime, build, live_build)
    view["author_unlinked"] = _links_to_nobody(runtime, build.commit_author)
    view["size_delta"] = (build.size - live_build.size
                          if live_build and build.size and live_build.size else None)
    view["may_decide"] = bool(target and current_user.is_authenticated and may_approve(
        current_user.role, list(current_user.repositories or []), build.repository,
        repo.team if repo else None))
    return view


def _links_to_nobody(runtime: Runtime, author: str | None) -> bool:
    """True if the commit's author matches no linked name or email of any user."""
    if not author:
        return False
    with runtime.db.session() as session:
        return session.scalar(select(Identity.id).where(
            func.lower(Identity.value) == author.lower()).limit(1)) is None


def _changes(runtime: Runtime, build: Build, live_build: Build | None):
    if build.status != BuildStatus.STAGED:
        return [], None
    try:
        return commits_between(runtime, build, live_build.commit_sha if live_build else None), None
    except (git.GitCommandError, ValueError) as exc:
        log.warning("could not list commits for build %s: %s", build.id, exc)
        return [], f"the repository mirror could not be read ({str(exc).splitlines()[0]})"
