"""Version ordering per package ecosystem, as each ecosystem itself defines it."""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import cmp_to_key

import semver
from debian.debian_support import version_compare
from packaging.version import InvalidVersion, Version

_APK = re.compile(r"^(?P<nums>\d+(?:\.\d+)*)(?P<letter>[a-z]?)(?P<suffixes>(?:_[a-z]+\d*)*)"
                  r"(?:-r(?P<rev>\d+))?$")
_APK_SUFFIXES = ["alpha", "beta", "pre", "rc", "", "cvs", "svn", "git", "hg", "p"]


class UnknownVersion(ValueError):
    """A version string that its ecosystem's rules cannot read."""


def _pypi(a: str, b: str) -> int:
    try:
        left, right = Version(a), Version(b)
    except InvalidVersion as exc:
        raise UnknownVersion(str(exc)) from exc
    return (left > right) - (left < right)


def _npm(a: str, b: str) -> int:
    try:
        return semver.Version.parse(a.lstrip("v=")).compare(b.lstrip("v="))
    except ValueError as exc:
        raise UnknownVersion(str(exc)) from exc


def _alpine_key(text: str) -> tuple:
    match = _APK.match(text)
    if not match:
        raise UnknownVersion(f"'{text}' is not an Alpine package version")
    suffixes = []
    for part in filter(None, match["suffixes"].split("_")):
        name = part.rstrip("0123456789")
        if name not in _APK_SUFFIXES:
            raise UnknownVersion(f"'{text}' has an unknown Alpine suffix '_{name}'")
        suffixes.append((_APK_SUFFIXES.index(name), int(part[len(name):] or 0)))
    suffixes.append((_APK_SUFFIXES.index(""), 0))
    return (tuple(int(n) for n in match["nums"].split(".")), match["letter"],
            tuple(suffixes), int(match["rev"] or 0))


def _alpine(a: str, b: str) -> int:
    left, right = _alpine_key(a), _alpine_key(b)
    return (left > right) - (left < right)


def _debian(a: str, b: str) -> int:
    try:
        result = version_compare(a, b)
    except ValueError as exc:
        raise UnknownVersion(str(exc)) from exc
    return (result > 0) - (result < 0)


COMPARATORS: dict[str, Callable[[str, str], int]] = {
    "Debian": _debian, "Alpine": _alpine, "PyPI": _pypi, "npm": _npm,
}


def compare(ecosystem: str, a: str, b: str) -> int:
    """-1, 0 or 1 as version a sorts before, with or after b in the ecosystem."""
    try:
        return COMPARATORS[ecosystem](a, b)
    except KeyError:
        raise UnknownVersion(f"no version ordering for ecosystem '{ecosystem}'") from None


def sort_key(ecosystem: str):
    """A sort key for versions of the ecosystem."""
    return cmp_to_key(lambda a, b: compare(ecosystem, a, b))
