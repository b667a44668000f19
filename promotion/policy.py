"""Who may approve which digest, when enough approvals promote it, and where it may go next.

Plain domain code: no Flask, database, registry or Redis; the adapters gather the facts.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from auth.roles import may_approve
from config.promotion import PromotionRules
from states import BuildStatus

PASSING_GATES = {"pass", "warn"}


class Refused(Exception):
    """An approval or promotion the policy does not allow; the message says why."""


@dataclass(frozen=True)
class Person:
    """Someone deciding: their name, role, repository scope and linked Git identities."""

    username: str
    role: str
    repositories: tuple[str, ...] = ()
    identities: frozenset[str] = frozenset()
    accounts: frozenset[str] = frozenset()  # "host:account id", and "lockmaster:<username>"

    def has_account_on(self, host: str) -> bool:
        """True if a Git host account id of this person on host is known."""
        return any(a.startswith(f"{host}:") for a in self.accounts)

    def is_one_of(self, names: set[str]) -> bool:
        """True if any of names (pusher, author...) is this person."""
        mine = {self.username.lower(), *(i.lower() for i in self.identities)}
        return bool(mine & {n.lower() for n in names if n})


@dataclass(frozen=True)
class Candidate:
    """A build's digest as it stands: status, gate outcomes, who pushed and wrote it."""

    repository: str
    status: str
    digest: str | None
    pusher: str | None
    authors: frozenset[str] = frozenset()
    gate_outcomes: tuple[str, ...] = ()
    environment: str | None = None  # the last environment this digest reached
    decided_by: frozenset[str] = field(default_factory=frozenset)
    team: str | None = None
    host: str = ""  # the repository's Git host (its provider in lockmaster.yml)
    pusher_accounts: frozenset[str] = frozenset()  # "host:account id" of who pushed


def next_environment(rules: PromotionRules, current: str | None) -> str | None:
    """The environment after `current`, or None when it is already in the last one."""
    if current not in rules.environments:
        return None
    position = rules.environments.index(current)
    return rules.environments[position + 1] if position + 1 < len(rules.environments) else None


def check_target(rules: PromotionRules, current: str | None, target: str) -> None:
    """A digest moves only from the environment just before the target."""
    if target not in rules.environments[1:]:
        raise Refused(f"'{target}' is not an environment of this repository "
                      f"(environments: {', '.join(rules.environments)})")
    wanted = rules.environments[rules.environments.index(target) - 1]
    if current != wanted:
        where = f"is in {current}" if current else "has not reached any environment"
        raise Refused(f"this digest {where}; it can be promoted to {target} only from {wanted}")


def check_decision(rules: PromotionRules, person: Person, candidate: Candidate,
                   digest: str, target: str) -> bool:
    """Raise Refused unless person may decide on digest for target; True if self-approval."""
    if not may_approve(person.role, list(person.repositories), candidate.repository,
                       candidate.team):
        raise Refused(f"{person.username} ({person.role}) may not approve "
                      f"{candidate.repository}: ask an admin for approver rights on it")
    if candidate.status != BuildStatus.STAGED:
        raise Refused(f"the build is {candidate.status}; only staged builds can be approved")
    failed = [o for o in candidate.gate_outcomes if o not in PASSING_GATES]
    if failed:
        raise Refused(f"the build's gates did not pass ({', '.join(sorted(set(failed)))}); "
                      "fix the findings and push a new commit")
    if digest != candidate.digest:
        raise Refused(f"digest {digest} is not this build's digest ({candidate.digest}); "
                      "reload the build page and decide on what it shows now")
    check_target(rules, candidate.environment, target)
    if person.username in candidate.decided_by:
        raise Refused(f"{person.username} already decided on this digest for {target}")
    is_self = is_pusher_or_author(person, candidate)
    if not rules.allow_self_approval:
        check_four_eyes(person, candidate, is_self)
    return is_self


def is_pusher_or_author(person: Person, candidate: Candidate) -> bool:
    """True if person pushed (same account id, or same name) or wrote the commit."""
    return bool(person.accounts & {a.lower() for a in candidate.pusher_accounts}) \
        or person.is_one_of({candidate.pusher or "", *candidate.authors})


def check_four_eyes(person: Person, candidate: Candidate, is_self: bool) -> None:
    """Refused unless it is certain that person is not who pushed (nor wrote) the commit."""
    if is_self:
        raise Refused(f"{person.username} pushed or wrote this commit; four-eyes: another "
                      "approver must decide (or set promotion.allow_self_approval)")
    if not candidate.pusher_accounts:
        raise Refused(f"who pushed this commit is not known by a {candidate.host} account id "
                      "(an older build, or the host sent none), so four-eyes cannot be "
                      "checked: push again, or build it by hand with `lockmaster build` (then "
                      "the token's owner is the pusher)")
    if not person.has_account_on(candidate.host):
        raise Refused(f"{person.username} has no linked {candidate.host} account, so four-eyes "
                      f"cannot tell them from the pusher: an admin runs `lockmaster users link "
                      f"{person.username} --{candidate.host}-id ACCOUNT_ID`")


def enough_approvals(rules: PromotionRules, approvals: int) -> bool:
    """True once the repository's number of approvals is reached."""
    return approvals >= rules.approvals


def check_tag_move(tag: str, current: str | None, digest: str, moving: tuple[str, ...]) -> None:
    """Production tags are immutable: only moving tags may point at another digest."""
    if current is not None and current != digest and tag not in moving:
        raise Refused(f"tag '{tag}' already points at {current}; it is immutable (only "
                      f"{', '.join(moving) or 'no tags'} may move): change promotion.tags")


def render_tags(templates: tuple[str, ...], version: str | None, short_sha: str,
                branch: str | None) -> list[str]:
    """The tags to apply; templates whose placeholders have no value are left out."""
    values = {"version": version, "short_sha": short_sha, "branch": branch}
    tags = []
    for template in templates:
        try:
            tag = template.format(**{k: v for k, v in values.items() if v is not None})
        except KeyError:
            continue
        if tag not in tags:
            tags.append(tag)
    return tags
