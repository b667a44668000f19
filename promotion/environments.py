"""Where digests are: environment state read from the promotion record."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from lineage.models import Build
from promotion.models import Promotion
from promotion.settings import PromotionRules


def history(session: Session, image: str, environment: str) -> list[Promotion]:
    """Finished promotions into an environment, newest first."""
    query = (select(Promotion)
             .where(Promotion.image == image, Promotion.to_environment == environment,
                    Promotion.status == "promoted")
             .order_by(Promotion.finished_at.desc(), Promotion.id.desc()))
    return list(session.scalars(query))


def current(session: Session, image: str, environment: str) -> Promotion | None:
    """The promotion whose digest the environment serves now, if any."""
    found = history(session, image, environment)
    return found[0] if found else None


def reached(session: Session, rules: PromotionRules, build: Build) -> str | None:
    """The furthest environment this build's digest has reached (staging once staged)."""
    if build.status != "staged" or not build.digest:
        return None
    done = {p.to_environment for p in build.promotions
            if p.status == "promoted" and p.digest == build.digest}
    furthest = "staging"
    for environment in rules.environments:
        if environment in done:
            furthest = environment
    return furthest


def open_request(session: Session, build: Build, target: str) -> Promotion | None:
    """The promotion request for this build's digest into target, if one was opened."""
    return session.scalar(select(Promotion).where(
        Promotion.request_key == request_key(build.id, target, build.digest or "")))


def request_key(build_id: str, target: str, digest: str) -> str:
    """The one key an approval-driven promotion of this digest into target can have."""
    return f"{build_id}:{target}:{digest}"
