"""Regular expressions from a repository's tests file, run by a linear-time engine (RE2):
no pattern can hold a worker, whatever text it meets."""

from __future__ import annotations

import re
from functools import lru_cache

import re2

# Constructs RE2 cannot run in linear time, named for the person who wrote the pattern.
_CONSTRUCTS = (
    (re.compile(r"\(\?<?[=!]"), "a lookaround ((?=…), (?!…), (?<=…), (?<!…))"),
    (re.compile(r"\\[1-9]|\(\?P=|\\k<"), "a backreference (\\1, (?P=name))"),
    (re.compile(r"\(\?>"), "an atomic group ((?>…))"),
    (re.compile(r"[*+?}][+]"), "a possessive quantifier (*+, ++, ?+)"),
    (re.compile(r"\(\?\("), "a conditional ((?(…)…))"),
)


class PatternError(ValueError):
    """A pattern the engine cannot run; the message names the construct."""


def _options() -> re2.Options:
    options = re2.Options()
    options.log_errors = False  # the reason goes to the test's result, not the worker's log
    return options


@lru_cache(maxsize=512)
def compiled(pattern: str, multiline: bool = True):
    """The RE2 program of a pattern (`^` and `$` at each line when multiline)."""
    try:
        return re2.compile(f"(?m){pattern}" if multiline else pattern, _options())
    except re2.error as exc:
        raise PatternError(f"/{pattern}/ cannot be run: {_reason(pattern, exc)}") from exc


def _reason(pattern: str, exc: Exception) -> str:
    for construct, name in _CONSTRUCTS:
        if construct.search(pattern):
            return (f"it uses {name}, which Lockmaster's linear-time regular expression "
                    "engine (RE2) does not have; write it without")
    said = exc.args[0] if exc.args else exc
    return (said.decode(errors="replace") if isinstance(said, bytes) else str(said)) + \
        " (Lockmaster runs patterns with RE2 syntax)"


def search(pattern: str, text: str) -> bool:
    """True if the pattern matches somewhere in text (lines anchored by ^ and $)."""
    return compiled(pattern).search(text) is not None


def fullmatch(pattern: str, text: str) -> bool:
    """True if the pattern matches the whole text."""
    return compiled(pattern, multiline=False).fullmatch(text) is not None
