"""Rollback: promote an earlier digest of an environment's history again, in one action."""

from __future__ import annotations

import uuid

from sqlalchemy import select

from auth.roles import may_approve
from bootstrap import Runtime
from promotion.dispatch import enqueue_promotion
from promotion.facts import NotFound, person, rules_for
from promotion.policy import Candidate, Refused, check_four_eyes, is_pusher_or_author
from record import environments
from record.accounts import User
from record.audit import audit
from record.promotions import Approval, Promotion
from states import PromotionStatus


def rollback(runtime: Runtime, username: str, environment: str, image: str, digest: str,
             comment: str = "") -> int:
    """Queue the rollback of environment/image to digest; returns the promotion id."""
    try:
        promotion_id = _open_rollback(runtime, username, environment, image, digest, comment)
    except Refused as exc:
        audit(runtime.db, "rollback", username, f"{image} in {environment}", outcome="refused",
              detail=str(exc), digest=digest)
        raise
    enqueue_promotion(runtime, promotion_id)
    return promotion_id


def _open_rollback(runtime: Runtime, username: str, environment: str, image: str, digest: str,
                   comment: str) -> int:
    with runtime.db.session() as session:
        user = session.scalar(select(User).where(User.username == username))
        if user is None:
            raise NotFound(f"no user named '{username}'")
        past = environments.history(session, image, environment)
        if past and past[0].digest == digest:
            raise Refused(f"{environment} already serves {digest}; nothing to roll back")
        earlier = next((p for p in past if p.digest == digest), None)
        if earlier is None:
            raise Refused(f"{digest} was never promoted to {environment} for {image}; "
                          "pick a digest from the environment's history")
        _check_rights(runtime, user, earlier)
        row = Promotion(request_key=f"rollback:{uuid.uuid4()}", kind="rollback",
                        build_id=earlier.build_id, image=image, digest=digest,
                        from_environment=environment, to_environment=environment,
                        status=PromotionStatus.APPROVED, actor=username)
        row.approvals.append(Approval(username=username, decision="approve", digest=digest,
                                      comment=comment or None, via="rollback"))
        session.add(row)
        session.flush()
        fast = " (admin fast path)" if user.role == "admin" else ""
        audit(session, "rollback", username, f"{image} in {environment}",
              detail=f"rollback to {digest} requested{fast}", digest=digest,
              replacing=past[0].digest if past else None, comment=comment or None,
              repository=earlier.build.repository)
        return row.id


def _check_rights(runtime: Runtime, user: User, earlier: Promotion) -> None:
    """Admins roll back directly; an approver only where one approval is the policy anyway."""
    if user.role == "admin":
        return
    rules = rules_for(runtime, earlier.build)
    who = person(user)
    repo = runtime.settings.repository_named(earlier.build.repository)
    if not may_approve(who.role, list(who.repositories), earlier.build.repository,
                       repo.team if repo else None):
        raise Refused(f"{user.username} ({user.role}) may not roll back "
                      f"{earlier.build.repository}: ask an admin")
    if rules.approvals > 1:
        raise Refused(f"{earlier.build.repository} needs {rules.approvals} approvals; a "
                      "rollback by one approver is not enough: ask an admin (fast path)")
    build = earlier.build
    if not rules.allow_self_approval:
        candidate = Candidate(build.repository, build.status, build.digest, build.pusher,
                              frozenset({build.commit_author or ""}),
                              host=repo.provider if repo else build.provider,
                              pusher_accounts=frozenset(build.pusher_accounts or ()))
        check_four_eyes(who, candidate, is_pusher_or_author(who, candidate))
