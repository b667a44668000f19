"""Who may pull and push what in the registry."""

import pytest

from registry.policy import Layout, Principal, Scope, grant, parse_scope

LAYOUT = Layout(staging="staging", environments={"production": "production", "qa": "qa"},
                images={"acme/web": ("acme/web", "payments"), "other/db": ("other/db", None)},
                anonymous_pull=("production/public/*",))
BUILDER = Principal("lockmaster-builder", "robot", purpose="builder")
PROMOTER = Principal("lockmaster-promoter", "robot", purpose="promoter")
DEPLOY = Principal("deploy-web", "robot", purpose="deploy", patterns=("production/acme/*",))
ADMIN = Principal("erin", "user", role="admin")
CAROL = Principal("carol", "user", role="approver", patterns=("acme/*",))
TEAM = Principal("tom", "user", role="viewer", patterns=("team:payments",))
NOBODY = Principal(None, "anonymous")


def _actions(who: Principal, scope: str) -> tuple[str, ...]:
    return grant(who, parse_scope(scope), LAYOUT).actions


@pytest.mark.parametrize("who, scope, expected", [
    (BUILDER, "repository:staging/acme/web:pull,push", ("pull", "push")),
    (BUILDER, "repository:production/acme/web:pull,push", ("pull",)),
    (PROMOTER, "repository:production/acme/web:pull,push", ("pull", "push")),
    (PROMOTER, "repository:qa/acme/web:push", ("push",)),
    (PROMOTER, "repository:staging/acme/web:pull,push", ("pull",)),
    (ADMIN, "repository:production/acme/web:pull,push", ("pull",)),
    (ADMIN, "repository:staging/acme/web:push", ()),
    (CAROL, "repository:production/acme/web:pull,push", ("pull",)),
    (CAROL, "repository:staging/acme/web:pull", ("pull",)),
    (CAROL, "repository:production/other/db:pull", ()),
    (TEAM, "repository:production/acme/web:pull", ("pull",)),
    (TEAM, "repository:production/other/db:pull", ()),
    (DEPLOY, "repository:production/acme/web:pull", ("pull",)),
    (DEPLOY, "repository:production/other/db:pull", ()),
    (DEPLOY, "repository:staging/acme/web:pull", ()),
    (NOBODY, "repository:production/acme/web:pull", ()),
    (NOBODY, "repository:production/public/site:pull,push", ("pull",)),
    (BUILDER, "repository:elsewhere/acme/web:push", ()),
    (PROMOTER, "repository:production/acme/web:delete", ()),
    (ADMIN, "registry:catalog:*", ("*",)),
    (CAROL, "registry:catalog:*", ()),
    (BUILDER, "registry:catalog:*", ()),
])
def test_grants(who, scope, expected):
    assert _actions(who, scope) == expected


def test_a_grant_keeps_the_requested_name_and_type():
    assert grant(CAROL, parse_scope("repository:production/acme/web:pull,push"), LAYOUT) == \
        Scope("repository", "production/acme/web", ("pull",))


@pytest.mark.parametrize("text", ["", "repository", "repository:name", "repository::pull"])
def test_malformed_scopes_are_ignored(text):
    assert parse_scope(text) is None


def test_a_name_with_a_port_like_colon_keeps_its_actions():
    assert parse_scope("repository:a/b:pull") == Scope("repository", "a/b", ("pull",))
