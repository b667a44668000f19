"""The role table the UI's buttons and views follow (auth.roles.may, which the API and CLI
ask too): viewer reads; developer builds, cancels and retries; approver also approves and
rolls back in the repositories of their scope; admin does everything."""

import pytest

from auth.roles import ACTIONS, may

TABLE = {
    "viewer": {"read"},
    "developer": {"read", "build", "cancel", "retry"},
    "approver": {"read", "build", "cancel", "retry", "approve", "rollback"},
    "admin": set(ACTIONS),
}


@pytest.mark.parametrize("role", list(TABLE))
@pytest.mark.parametrize("action", ACTIONS)
def test_each_role_may_do_its_actions_in_its_repositories(role, action):
    assert may(role, ["acme/*"], action, "acme/web") is (action in TABLE[role])


@pytest.mark.parametrize("action", ACTIONS)
def test_a_scoped_user_may_nothing_outside_the_scope_not_even_read(action):
    assert not may("approver", ["acme/*"], action, "other/api")
    assert may("admin", ["acme/*"], action, "other/api")


def test_a_team_scope_covers_the_team_and_no_scope_covers_all_but_deciding():
    assert may("developer", ["team:payments"], "cancel", "other/api", team="payments")
    assert may("viewer", [], "read", "other/api")
    assert may("developer", [], "retry", "other/api")
    assert not may("approver", [], "approve", "other/api")


def test_unknown_roles_and_actions_may_nothing():
    assert not may("root", ["*"], "read", "acme/web")
    assert not may("viewer", ["*"], "delete", "acme/web")
