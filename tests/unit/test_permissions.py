"""The role table the UI follows: viewer reads; developer builds, cancels and retries in their
repositories; approver also decides; admin does everything."""

import pytest

from auth.permissions import role_may

ACTIONS = ("read", "build", "cancel", "retry", "decide", "admin")
TABLE = {
    "viewer": {"read"},
    "developer": {"read", "build", "cancel", "retry"},
    "approver": {"read", "build", "cancel", "retry", "decide"},
    "admin": set(ACTIONS),
}


@pytest.mark.parametrize("role", list(TABLE))
@pytest.mark.parametrize("action", ACTIONS)
def test_each_role_may_do_its_actions_in_its_repositories(role, action):
    assert role_may(role, ["acme/*"], action, "acme/web") is (action in TABLE[role])


@pytest.mark.parametrize("action", ["build", "cancel", "retry", "decide"])
def test_out_of_scope_repositories_are_read_only_except_for_admins(action):
    assert not role_may("approver", ["acme/*"], action, "other/api")
    assert role_may("developer", ["team:payments"], "cancel", "other/api", team="payments")
    assert role_may("admin", [], action, "other/api")
    assert role_may("viewer", [], "read", "other/api")


def test_unknown_roles_and_actions_may_nothing():
    assert not role_may("root", ["*"], "read", "acme/web")
    assert not role_may("admin", ["*"], "delete", "acme/web")
