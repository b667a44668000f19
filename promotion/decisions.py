"""Recording approvals and rejections (web form and API alike) and opening promotions."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from bootstrap import Runtime
from config.promotion import PromotionRules
from notify.publish import publish
from promotion.changes import author_identities
from promotion.dispatch import enqueue_promotion
from promotion.facts import NotFound, gate_outcomes, person, rules_for
from promotion.policy import (
    Candidate,
    Refused,
    check_decision,
    enough_approvals,
    next_environment,
)
from record import environments
from record.accounts import User
from record.audit import audit
from record.models import Build
from record.promotions import Approval, Promotion
from states import PromotionStatus

DECISIONS = ("approve", "reject")


@dataclass(frozen=True)
class Decided:
    """What one decision led to."""

    promotion_id: int
    status: str
    approvals: int
    needed: int
    self_approval: bool


def decide(runtime: Runtime, build_id: str, username: str, decision: str, digest: str,
           comment: str = "", via: str = "web") -> Decided:
    """Record one decision on build_id's digest under the policy; may enqueue the promotion."""
    try:
        return _decide(runtime, build_id, username, decision, digest, comment, via)
    except Refused as exc:
        audit(runtime.db, decision, username, f"build {build_id}", outcome="refused",
              detail=str(exc), digest=digest, via=via)
        raise


def _decide(runtime: Runtime, build_id: str, username: str, decision: str, digest: str,
            comment: str, via: str) -> Decided:
    if decision not in DECISIONS:
        raise Refused(f"decision must be one of {', '.join(DECISIONS)}, not '{decision}'")
    with runtime.db.session() as session:
        build, user = session.get(Build, build_id), _user(session, username)
        if build is None:
            raise NotFound(f"no build with id '{build_id}'")
        rules = rules_for(runtime, build)
        where = environments.reached(session, rules, build)
        target = next_environment(rules, where)
        if where and target is None:
            raise Refused(f"this digest is already in {where}, the last environment")
        target = target or rules.environments[1]
        past = environments.requests_for(session, build, target)
        request = past[-1] if past else None
        # A late approval of a promotion already under way is still recorded (two approvers
        # clicking at once); a rejected one is closed; a failed one is decided afresh.
        if request is not None and request.status == PromotionStatus.REJECTED:
            raise Refused(f"the promotion of this digest to {target} was rejected; "
                          "push a new commit instead")
        if request is not None and request.status == PromotionStatus.FAILED:
            request = None
        attempt = len(past) + (1 if request is None else 0)
        candidate = _candidate(runtime, session, build, where, request)
        is_self = check_decision(rules, person(user), candidate, digest, target)
        image = runtime.settings.repository_named(build.repository).image
    key = environments.request_key(build_id, target, digest, attempt)
    promotion_id = _open(runtime, key, build_id, image, digest, where, target)
    _record(runtime, promotion_id, username, decision, digest, comment, is_self, via)
    return _settle(runtime, promotion_id, decision, rules, username, is_self, comment)


def _candidate(runtime: Runtime, session, build: Build, where: str | None,
               request: Promotion | None) -> Candidate:
    """The policy's view of the build's digest and of who already decided on it."""
    repo = runtime.settings.repository_named(build.repository)
    return Candidate(
        build.repository, build.status, build.digest, build.pusher,
        frozenset(author_identities(runtime, build)), gate_outcomes(session, build), where,
        frozenset(a.username for a in request.approvals) if request else frozenset(),
        team=repo.team if repo else None, host=repo.provider if repo else build.provider,
        pusher_accounts=frozenset(build.pusher_accounts or ()))


def _user(session, username: str) -> User:
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        raise NotFound(f"no user named '{username}'")
    return user


def _open(runtime: Runtime, key: str, build_id: str, image: str, digest: str, source: str,
          target: str) -> int:
    """The pending promotion with this key, created once however many race."""
    try:
        with runtime.db.session() as session:
            row = Promotion(request_key=key, build_id=build_id, image=image, digest=digest,
                            from_environment=source, to_environment=target,
                            status=PromotionStatus.PENDING)
            session.add(row)
            session.flush()
            return row.id
    except IntegrityError:
        with runtime.db.session() as session:
            return session.scalar(select(Promotion.id).where(Promotion.request_key == key))


def _record(runtime: Runtime, promotion_id: int, username: str, decision: str, digest: str,
            comment: str, is_self: bool, via: str) -> None:
    try:
        with runtime.db.session() as session:
            session.add(Approval(promotion_id=promotion_id, username=username,
                                 decision=decision, digest=digest, comment=comment or None,
                                 self_approval=is_self, via=via))
    except IntegrityError as exc:
        raise Refused(f"{username} already decided on this promotion") from exc


def _settle(runtime: Runtime, promotion_id: int, decision: str, rules: PromotionRules,
            username: str, is_self: bool, comment: str) -> Decided:
    """Move the promotion on if this decision settles it; only one racer wins the move."""
    with runtime.db.session() as session:
        approvals = session.scalar(select(func.count()).select_from(Approval).where(
            Approval.promotion_id == promotion_id, Approval.decision == "approve"))
        settled = PromotionStatus.REJECTED if decision == "reject" else (
            PromotionStatus.APPROVED if enough_approvals(rules, approvals) else None)
        won = settled is not None and session.execute(
            update(Promotion).where(Promotion.id == promotion_id,
                                    Promotion.status == PromotionStatus.PENDING)
            .values(status=settled, actor=username)).rowcount == 1
        promotion = session.get(Promotion, promotion_id)
        detail = "self-approval allowed by promotion.allow_self_approval" if is_self else None
        audit(session, decision, username, f"build {promotion.build_id}", detail=detail,
              digest=promotion.digest, environment=promotion.to_environment,
              comment=comment or None, approvals=approvals, needed=rules.approvals)
    if won and settled == PromotionStatus.APPROVED:
        enqueue_promotion(runtime, promotion_id)
        publish(runtime, promotion.build_id, "approved")
    return Decided(promotion_id, promotion.status, approvals, rules.approvals, is_self)
