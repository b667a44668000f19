"""Which pushes build, and which refs and clone URLs are refused before they reach git."""

import pytest

from webhooks.events import MalformedPayload, PushEvent
from webhooks.rules import (
    build_key,
    clone_source,
    ignore_reason,
    is_valid_ref,
    validate_push,
)

SHA = "a" * 40


def push(ref="refs/heads/main", after=SHA, deleted=False):
    return PushEvent("github", "acme/web", ref, after, "/srv/git/web.git", deleted=deleted)


@pytest.mark.parametrize("ref", ["refs/heads/main", "refs/heads/feature/x", "refs/tags/v1.2.3",
                                 "refs/heads/🚀"])
def test_ordinary_refs_are_valid(ref):
    assert is_valid_ref(ref)


@pytest.mark.parametrize("ref", [
    "refs/heads/../../x", "--upload-pack=x", "refs/heads/a;rm -rf", "refs/heads/-x",
    "refs/heads/a b", "refs/heads/x.lock", "refs/heads/.hidden", "refs/heads/a..b",
    "refs/heads/a@{1}", "refs/heads/", "refs/heads//x", "main", "refs/heads/a\\b",
    "refs/heads/a~1", "refs/heads/a^", "refs/heads/a:b", "refs/heads/a*", "refs/heads/x.",
])
def test_hostile_or_invalid_refs_are_refused(ref):
    assert not is_valid_ref(ref)
    with pytest.raises(MalformedPayload, match="not a valid Git ref"):
        validate_push(push(ref=ref))


@pytest.mark.parametrize("sha", ["abc", "g" * 40, "--upload-pack=x", "A" * 39])
def test_commit_ids_must_be_full_shas(sha):
    with pytest.raises(MalformedPayload, match="not a 40-hex"):
        validate_push(push(after=sha))


def test_configured_branches_and_tags_build_with_globs():
    branches, tags = ("main", "release/*"), ("v*",)
    assert ignore_reason(push("refs/heads/main"), branches, tags) is None
    assert ignore_reason(push("refs/heads/release/1.2"), branches, tags) is None
    assert ignore_reason(push("refs/tags/v1.0"), branches, tags) is None
    assert "not configured" in ignore_reason(push("refs/heads/dev"), branches, tags)
    assert "not configured" in ignore_reason(push("refs/tags/nightly"), branches, tags)


def test_a_deleted_branch_builds_nothing():
    assert "deleted" in ignore_reason(push(deleted=True), ("main",), ())


ALLOWED = ("git.example.com", "bitbucket.org")


@pytest.mark.parametrize("url", ["ext::sh -c touch% /tmp/pwned", "-oProxyCommand=x", "fd::17",
                                 "EXT::sh -c x"])
def test_dangerous_clone_urls_are_refused(url):
    with pytest.raises(MalformedPayload, match="not allowed"):
        clone_source(None, url, ALLOWED)
    with pytest.raises(MalformedPayload, match="not allowed"):
        clone_source(url, None, ALLOWED)


@pytest.mark.parametrize("url", ["https://evil.example.net/acme/web.git", "/srv/git/web.git",
                                 "file:///srv/git/web.git", "git@evil.example.net:acme/web.git",
                                 "https://git.example.com.evil.net/x.git"])
def test_payload_clone_urls_on_hosts_not_allowed_are_refused(url):
    with pytest.raises(MalformedPayload, match=r"webhooks\.clone_hosts"):
        clone_source(None, url, ALLOWED)


@pytest.mark.parametrize("url", ["https://git.example.com/acme/web.git",
                                 "ssh://git@GIT.example.com:2222/acme/web.git",
                                 "git@bitbucket.org:acme/web.git"])
def test_payload_clone_urls_on_allowed_hosts_are_used(url):
    assert clone_source(None, url, ALLOWED) == url


def test_the_configured_clone_url_wins():
    assert clone_source("/srv/git/web.git", "https://x.example/x.git", ()) == "/srv/git/web.git"


def test_no_clone_url_at_all_says_to_configure_one():
    with pytest.raises(MalformedPayload, match="set clone_url"):
        clone_source(None, None, ALLOWED)


@pytest.mark.parametrize("message", ["Fix typo [skip ci]", "[CI SKIP] docs"])
def test_skip_ci_in_the_commit_message_builds_nothing(message):
    event = PushEvent("github", "acme/web", "refs/heads/main", SHA, None, commit_message=message)
    assert "skip ci" in ignore_reason(event, ("main",), ())


def test_the_build_key_changes_with_the_settings_not_the_ref():
    settings = {"dockerfile": "Dockerfile", "context": "."}
    assert build_key("Acme/Web", SHA, settings) == build_key("acme/web", SHA, dict(settings))
    assert build_key("acme/web", SHA, settings) != build_key(
        "acme/web", SHA, {**settings, "target": "x"})
