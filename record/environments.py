"""Where digests are: environment state read from the promotion record."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from config.promotion import PromotionRules
from record.models import Build
from record.promotions import Promotion
from states import BuildStatus, PromotionStatus


def history(session: Session, image: str, environment: str, limit: int | None = None) \
        -> list[Promotion]:
    """Finished promotions into an environment, newest first (the newest `limit` only)."""
    query = (select(Promotion)
             .where(Promotion.image == image, Promotion.to_environment == environment,
                    Promotion.status == PromotionStatus.PROMOTED)
             .order_by(Promotion.finished_at.desc(), Promotion.id.desc()).limit(limit))
    return list(session.scalars(query))


def current(session: Session, image: str, environment: str) -> Promotion | None:
    """The promotion whose digest the environment serves now, if any."""
    found = history(session, image, environment, limit=1)
    return found[0] if found else None


def reached(session: Session, rules: PromotionRules, build: Build) -> str | None:
    """The furthest environment this build's digest has reached (staging once staged)."""
    if build.status != BuildStatus.STAGED or not build.digest:
        return None
    done = {p.to_environment for p in build.promotions
            if p.status == PromotionStatus.PROMOTED and p.digest == build.digest}
    furthest = "staging"
    for environment in rules.environments:
        if environment in done:
            furthest = environment
    return furthest


def requests_for(session: Session, build: Build, target: str) -> list[Promotion]:
    """The approval-driven promotions of this build's digest into target, oldest first."""
    return list(session.scalars(select(Promotion).where(
        Promotion.build_id == build.id, Promotion.to_environment == target,
        Promotion.digest == (build.digest or ""), Promotion.kind == "promotion")
        .order_by(Promotion.id)))


def open_request(session: Session, build: Build, target: str) -> Promotion | None:
    """The latest promotion request for this build's digest into target, if any."""
    found = requests_for(session, build, target)
    return found[-1] if found else None


def request_key(build_id: str, target: str, digest: str, attempt: int = 1) -> str:
    """The one key attempt N of promoting this digest into target can have."""
    key = f"{build_id}:{target}:{digest}"
    return key if attempt == 1 else f"{key}#{attempt}"
