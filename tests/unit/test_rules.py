"""Which pushes build, and which refs and clone URLs are refused before they reach git."""

import pytest

from webhooks.events import MalformedPayload, PushEvent
from webhooks.rules import clone_source, ignore_reason, is_valid_ref, validate_push

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


@pytest.mark.parametrize("url", ["ext::sh -c touch% /tmp/pwned", "-oProxyCommand=x", "fd::17"])
def test_dangerous_clone_urls_are_refused(url):
    with pytest.raises(MalformedPayload, match="not allowed"):
        clone_source(None, url)


def test_the_configured_clone_url_wins():
    assert clone_source("/srv/git/web.git", "https://example.com/x.git") == "/srv/git/web.git"
    assert clone_source(None, "https://git.example.com/acme/web.git").startswith("https://")
