"""The `promotion:` section of a repository in lockmaster.yml (plain domain code)."""

from __future__ import annotations

from dataclasses import dataclass
from string import Formatter

PROMOTION_KEYS = {"approvals", "allow_self_approval", "environments", "tags", "moving_tags"}
TAG_FIELDS = {"version", "short_sha", "branch"}
FIRST_ENVIRONMENT = "staging"


@dataclass(frozen=True)
class PromotionRules:
    """How one repository's digests reach production."""

    approvals: int = 1
    allow_self_approval: bool = False
    environments: tuple[str, ...] = ("staging", "production")
    tags: tuple[str, ...] = ("{version}", "sha-{short_sha}", "latest")
    moving_tags: tuple[str, ...] = ("latest",)


def parse_promotion(reader) -> PromotionRules:
    """Validate a promotion mapping read by config's MappingReader (it names file and line)."""
    defaults = PromotionRules()
    approvals = reader.get("approvals", int, defaults.approvals)
    if approvals < 1:
        reader.fail("approvals", "must be at least 1")
    environments = reader.strings("environments", defaults.environments)
    if len(environments) < 2 or environments[0] != FIRST_ENVIRONMENT:
        reader.fail("environments", f"must list at least two environments, starting with "
                                    f"'{FIRST_ENVIRONMENT}' (where builds are staged)")
    if len(set(environments)) != len(environments):
        reader.fail("environments", "must not name an environment twice")
    tags = reader.strings("tags", defaults.tags)
    for template in tags:
        unknown = {name for _text, name, _spec, _conv in Formatter().parse(template)
                   if name is not None} - TAG_FIELDS
        if unknown:
            reader.fail("tags", f"uses unknown placeholder(s) {sorted(unknown)} in "
                                f"'{template}'; use {sorted(TAG_FIELDS)}")
    return PromotionRules(
        approvals=approvals,
        allow_self_approval=reader.get("allow_self_approval", bool, False),
        environments=environments,
        tags=tags,
        moving_tags=reader.strings("moving_tags", defaults.moving_tags),
    )
