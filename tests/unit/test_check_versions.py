"""Each ecosystem's own version ordering, as the vulnerability gate relies on it."""

import pytest

from builder.checks.versions import UnknownVersion, compare


@pytest.mark.parametrize(("ecosystem", "lower", "higher"), [
    ("Debian", "2.0-1", "1:1.0-1"),            # an epoch beats any version without one
    ("Debian", "1.0~rc1-1", "1.0-1"),          # a tilde sorts before the release
    ("Debian", "1.0~~a", "1.0~a"),
    ("Debian", "1:1.1.1n-0+deb11u3", "1:1.1.1n-0+deb11u5"),
    ("PyPI", "2.19.0rc1", "2.19.0"),           # a pre-release sorts before its release
    ("PyPI", "1.0.dev1", "1.0a1"),
    ("PyPI", "1.0", "1.0.post1"),
    ("PyPI", "1.9", "1.10"),
    ("npm", "1.0.0-beta.2", "1.0.0-beta.11"),
    ("npm", "1.0.0-rc.1", "1.0.0"),
    ("Alpine", "1.2.3_rc1-r0", "1.2.3-r0"),
    ("Alpine", "1.2.3-r9", "1.2.3-r10"),
    ("Alpine", "1.2.3", "1.2.3_p1"),
    ("Alpine", "1.2.3", "1.2.3a"),
])
def test_the_ecosystems_own_ordering(ecosystem, lower, higher):
    assert compare(ecosystem, lower, higher) == -1
    assert compare(ecosystem, higher, lower) == 1
    assert compare(ecosystem, lower, lower) == 0


def test_pypi_spellings_of_one_version_are_equal():
    assert compare("PyPI", "1.0.0", "1.0") == 0
    assert compare("PyPI", "1.0RC1", "1.0rc1") == 0


def test_an_unreadable_version_or_an_unknown_ecosystem_is_an_error():
    with pytest.raises(UnknownVersion):
        compare("PyPI", "not a version", "1.0")
    with pytest.raises(UnknownVersion):
        compare("Alpine", "1.0_bogus", "1.0")
    with pytest.raises(UnknownVersion, match="no version ordering for ecosystem 'Maven'"):
        compare("Maven", "1", "2")
