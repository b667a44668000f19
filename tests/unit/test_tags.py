"""Branch and tag names become valid OCI tags."""

import re

import pytest

from builder.tags import branch_name, ref_to_tag, short_sha, tag_name

OCI_TAG = re.compile(r"^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$")


@pytest.mark.parametrize(("name", "tag"), [
    ("main", "main"),
    ("feature/x", "feature-x"),
    ("release/1.2.3", "release-1.2.3"),
    ("v1.0.0", "v1.0.0"),
    ("UPPER_case", "UPPER_case"),
])
def test_readable_names_stay_readable(name, tag):
    assert ref_to_tag(name) == tag


@pytest.mark.parametrize("name", [
    "feature/x", "🚀", "🚀-launch", "fix/🐛-crash", "a" * 300, "-leading-dash", ".hidden",
    "x" * 128, "x" * 129, "über/straße", "a b\tc", "..", "_",
])
def test_every_name_becomes_a_valid_oci_tag(name):
    assert OCI_TAG.match(ref_to_tag(name)), ref_to_tag(name)


def test_long_names_keep_distinct_tags():
    a, b = "a" * 200 + "1", "a" * 200 + "2"
    assert ref_to_tag(a) != ref_to_tag(b)
    assert len(ref_to_tag(a)) == 128


def test_names_without_usable_characters_keep_distinct_tags():
    assert ref_to_tag("🚀") != ref_to_tag("🐛")


def test_ref_helpers():
    assert branch_name("refs/heads/feature/x") == "feature/x"
    assert branch_name("refs/tags/v1") is None
    assert tag_name("refs/tags/v1") == "v1"
    assert short_sha("0123456789abcdef0123") == "0123456789ab"
