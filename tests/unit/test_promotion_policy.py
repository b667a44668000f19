"""The promotion policy, without Flask, a database or a registry."""

import pytest

from auth.roles import in_scope, may, may_approve, readable, scope_covers
from config.promotion import PromotionRules
from promotion.policy import (
    Candidate,
    Person,
    Refused,
    check_decision,
    check_tag_move,
    check_target,
    enough_approvals,
    next_environment,
    render_tags,
)

DIGEST = "sha256:" + "a" * 64
RULES = PromotionRules()
THREE = PromotionRules(environments=("staging", "qa", "production"))
CAROL = Person("carol", "approver", ("acme/*",), frozenset({"carol@example.com", "carol-gh"}),
               frozenset({"github:2"}))


def candidate(**changes) -> Candidate:
    values = {"repository": "acme/web", "status": "staged", "digest": DIGEST,
              "pusher": "bob", "authors": frozenset({"Alice Author", "alice@example.com"}),
              "gate_outcomes": (), "environment": "staging", "host": "github",
              "pusher_accounts": frozenset({"github:1"})}
    return Candidate(**{**values, **changes})


def test_an_approver_in_scope_may_approve_a_staged_build():
    assert check_decision(RULES, CAROL, candidate(), DIGEST, "production") is False


@pytest.mark.parametrize("who", [
    Person("bob", "approver", ("acme/*",)),                                   # the pusher
    Person("al", "approver", ("acme/*",), frozenset({"alice@example.com"})),  # the author
    Person("x", "admin", (), frozenset({"BOB"})),                             # linked, any case
])
def test_four_eyes_refuses_the_pusher_and_the_author(who):
    with pytest.raises(Refused, match="four-eyes"):
        check_decision(RULES, who, candidate(), DIGEST, "production")


def test_self_approval_when_the_repository_allows_it_is_flagged():
    rules = PromotionRules(allow_self_approval=True)
    assert check_decision(rules, Person("bob", "approver", ("acme/*",)), candidate(),
                          DIGEST, "production") is True


@pytest.mark.parametrize("status", ["queued", "building", "failed", "rejected", "superseded"])
def test_only_staged_builds_can_be_approved(status):
    with pytest.raises(Refused, match=f"the build is {status}"):
        check_decision(RULES, CAROL, candidate(status=status), DIGEST, "production")


def test_failed_gates_refuse_and_passing_or_missing_gates_do_not():
    with pytest.raises(Refused, match=r"gates did not pass \(fail\)"):
        check_decision(RULES, CAROL, candidate(gate_outcomes=("pass", "fail")), DIGEST,
                       "production")
    with pytest.raises(Refused, match="error"):
        check_decision(RULES, CAROL, candidate(gate_outcomes=("error",)), DIGEST, "production")
    check_decision(RULES, CAROL, candidate(gate_outcomes=("pass", "warn")), DIGEST, "production")
    check_decision(RULES, CAROL, candidate(gate_outcomes=()), DIGEST, "production")


def test_a_digest_that_is_no_longer_the_builds_is_refused():
    other = "sha256:" + "b" * 64
    with pytest.raises(Refused, match="is not this build's digest"):
        check_decision(RULES, CAROL, candidate(), other, "production")


@pytest.mark.parametrize("who", [Person("v", "viewer", ("acme/*",)),
                                 Person("d", "developer", ("acme/*",)),
                                 Person("o", "approver", ("other/*",))])
def test_people_without_approver_rights_on_the_repository_are_refused(who):
    with pytest.raises(Refused, match="may not approve acme/web"):
        check_decision(RULES, who, candidate(), DIGEST, "production")


def test_an_approver_of_the_repositorys_team_may_approve():
    payments = Person("pat", "approver", ("team:payments",), accounts=frozenset({"github:3"}))
    check_decision(RULES, payments, candidate(team="payments"), DIGEST, "production")
    with pytest.raises(Refused, match="may not approve"):
        check_decision(RULES, payments, candidate(team="search"), DIGEST, "production")


def test_a_second_decision_by_the_same_person_is_refused():
    with pytest.raises(Refused, match="already decided"):
        check_decision(RULES, CAROL, candidate(decided_by=frozenset({"carol"})), DIGEST,
                       "production")


def test_n_approvals():
    rules = PromotionRules(approvals=2)
    assert not enough_approvals(rules, 1)
    assert enough_approvals(rules, 2)
    assert enough_approvals(RULES, 1)


def test_environments_go_in_order():
    assert next_environment(THREE, "staging") == "qa"
    assert next_environment(THREE, "qa") == "production"
    assert next_environment(THREE, "production") is None
    check_target(THREE, "qa", "production")
    with pytest.raises(Refused, match="only from qa"):
        check_target(THREE, "staging", "production")
    with pytest.raises(Refused, match="not an environment"):
        check_target(THREE, "staging", "prod")
    with pytest.raises(Refused, match="only from qa"):
        check_decision(THREE, CAROL, candidate(), DIGEST, "production")


def test_production_tags_are_immutable_unless_moving():
    old, new = "sha256:" + "1" * 64, "sha256:" + "2" * 64
    check_tag_move("v1.0", None, new, ("latest",))
    check_tag_move("v1.0", new, new, ("latest",))
    check_tag_move("latest", old, new, ("latest",))
    with pytest.raises(Refused, match=r"tag 'v1\.0' already points at"):
        check_tag_move("v1.0", old, new, ("latest",))


def test_tags_are_rendered_and_those_without_a_value_left_out():
    templates = ("{version}", "latest", "sha-{short_sha}", "{branch}")
    assert render_tags(templates, "v1.2", "abc", None) == ["v1.2", "latest", "sha-abc"]
    assert render_tags(templates, None, "abc", "main") == ["latest", "sha-abc", "main"]


def test_roles_and_scopes():
    assert in_scope(["acme/*"], "ACME/web") and not in_scope(["acme/*"], "other/web")
    assert may_approve("admin", [], "any/thing")
    assert not may_approve("approver", [], "acme/web")
    assert may_approve("approver", ["team:Payments"], "acme/pay", "payments")
    assert not may_approve("approver", ["team:payments"], "acme/pay", None)
    assert not may_approve("approver", ["team:payments"], "acme/pay", "search")
    assert scope_covers("admin", "build") and scope_covers("build", "read")
    assert not scope_covers("read", "build")


def test_four_eyes_compares_account_ids_and_needs_them():
    renamed = Person("robert", "approver", ("acme/*",), accounts=frozenset({"github:1"}))
    with pytest.raises(Refused, match="pushed or wrote"):
        check_decision(RULES, renamed, candidate(pusher="bobby"), DIGEST, "production")
    with pytest.raises(Refused, match="not known by a github account id"):
        check_decision(RULES, CAROL, candidate(pusher_accounts=frozenset()), DIGEST, "production")
    unlinked = Person("una", "approver", ("acme/*",), accounts=frozenset({"gitlab:1"}))
    with pytest.raises(Refused, match="users link una --github-id"):
        check_decision(RULES, unlinked, candidate(), DIGEST, "production")
    self_ok = PromotionRules(allow_self_approval=True)
    assert check_decision(self_ok, renamed, candidate(), DIGEST, "production") is True
    assert check_decision(self_ok, unlinked, candidate(), DIGEST, "production") is False


def test_roles_and_token_scopes_decide_what_each_may_do():
    assert scope_covers("approve", "read") and not scope_covers("build", "approve")
    assert not scope_covers("approve", "build") and scope_covers("admin", "approve")
    assert may("developer", ["acme/*"], "cancel", "acme/web")
    assert not may("developer", ["acme/*"], "cancel", "other/x")
    assert not may("developer", [], "approve", "acme/web")
    assert not may("viewer", [], "build", "acme/web") and may("viewer", [], "read", "any/x")
    assert not may("approver", ["acme/*"], "approve", "acme/web", token_scope="build")
    assert may("approver", ["acme/*"], "approve", "acme/web", token_scope="approve")
    assert not may("approver", ["acme/*"], "build", "acme/web", token_scope="approve")
    assert may("admin", [], "rollback", "x/y", token_scope="admin")
    names = [("acme/web", None), ("other/x", None), ("pay/api", "payments")]
    assert readable("developer", ["acme/*", "team:payments"], names) == ["acme/web", "pay/api"]
    assert readable("admin", ["acme/*"], names) is None and readable("viewer", [], names) is None
