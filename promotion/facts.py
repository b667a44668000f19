"""The facts the promotion policy needs, gathered from the record and lockmaster.yml."""

from __future__ import annotations

from bootstrap import Runtime
from config.promotion import PromotionRules
from promotion.policy import Person, Refused
from record.accounts import User
from record.models import Build


class NotFound(Exception):
    """No such build or user."""


def gate_outcomes(_session, build: Build) -> tuple[str, ...]:
    """The status of every gate result recorded for the build (pass, warn, fail, error)."""
    return tuple(check.status for check in build.checks)


def person(user: User) -> Person:
    """The policy's view of a user."""
    return Person(user.username, user.role, tuple(user.repositories or ()), user.identity_values,
                  user.accounts)


def rules_for(runtime: Runtime, build: Build) -> PromotionRules:
    """The promotion rules of the build's repository."""
    repo = runtime.settings.repository_named(build.repository)
    if repo is None:
        raise Refused(f"repository {build.repository} is no longer configured in lockmaster.yml")
    return repo.promotion
