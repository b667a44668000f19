"""Build isolation rules: limits, network modes and build args (plain domain code)."""

from __future__ import annotations

import re
import string
from dataclasses import dataclass

NETWORK_MODES = ("none", "default")
PLACEHOLDERS = ("sha", "short_sha", "ref", "version")
SECRET_WORDS = ("TOKEN", "PASSWORD", "SECRET")
DEFAULT_TIMEOUT_SECONDS = 1800
DEFAULT_PIDS_LIMIT = 1024
MIN_PIDS = 16
_MEMORY = re.compile(r"^(\d+)\s*([bkmg]?)b?$", re.IGNORECASE)
_UNITS = {"": 1, "b": 1, "k": 1024, "m": 1024**2, "g": 1024**3}
MIN_MEMORY = 6 * 1024**2  # the Docker engine refuses less than 6 MiB


class IsolationError(ValueError):
    """A build setting that cannot be applied safely; the message says how to fix it."""


@dataclass(frozen=True)
class Commit:
    """What build-arg placeholders may refer to."""

    sha: str
    short_sha: str
    ref: str
    version: str


def parse_memory(value: str | int) -> int:
    """`512m` → bytes; plain numbers are bytes."""
    match = _MEMORY.match(str(value).strip())
    if not match:
        raise IsolationError(f"{value!r} is not a memory size: use a number with b, k, m or g, "
                             "e.g. 512m")
    size = int(match.group(1)) * _UNITS[match.group(2).lower()]
    if size < MIN_MEMORY:
        raise IsolationError(f"{value!r} is below the Docker engine's minimum of 6m")
    return size


def parse_cpus(value: float | int) -> float:
    """A positive number of CPUs (fractions allowed)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        raise IsolationError(f"{value!r} is not a positive number of CPUs, e.g. 1.5")
    return float(value)


def parse_pids(value: int) -> int:
    """The most processes a build may run at once (all its RUN steps together)."""
    if isinstance(value, bool) or not isinstance(value, int) or value < MIN_PIDS:
        raise IsolationError(f"{value!r} is not a process limit: use a whole number of at "
                             f"least {MIN_PIDS}, e.g. 512")
    return value


def cpu_quota(cpus: float, period: int = 100_000) -> dict[str, int]:
    """The CFS period/quota that lets a build use `cpus` CPUs."""
    return {"cpuperiod": period, "cpuquota": max(1000, round(cpus * period))}


def check_network(mode: str) -> str:
    """The network mode, if it is one a build may use."""
    if mode not in NETWORK_MODES:
        raise IsolationError(f"network {mode!r} is not allowed: use 'none' (the default) or "
                             "'default'")
    return mode


def check_build_args(args: dict[str, str]) -> dict[str, str]:
    """Refuse secret-looking names and unknown placeholders; returns args unchanged."""
    for name, value in args.items():
        if name.upper().startswith("BUILDKIT_"):
            raise IsolationError(
                f"build arg {name!r} is refused: BUILDKIT_* arguments steer the build engine "
                "(Lockmaster sets the cache-mount namespace and the inline cache itself)")
        if any(word in name.upper() for word in SECRET_WORDS):
            raise IsolationError(
                f"build arg {name!r} looks like a secret: build args are stored in the image "
                "history and in the lineage record, so never pass secrets this way (the "
                "secrets check of the quality gates refuses images that contain them); mount "
                "secrets at run time instead")
        for _text, field, _spec, _conv in string.Formatter().parse(value):
            if field is not None and field not in PLACEHOLDERS:
                raise IsolationError(
                    f"build arg {name!r} uses {{{field}}}: the placeholders are "
                    f"{', '.join('{' + p + '}' for p in PLACEHOLDERS)} (write {{{{ and }}}} "
                    "for literal braces)")
    return args


def substitute(args: dict[str, str], commit: Commit) -> dict[str, str]:
    """Build args with {sha}, {short_sha}, {ref} and {version} filled in."""
    values = {p: getattr(commit, p) for p in PLACEHOLDERS}
    return {name: value.format(**values) for name, value in args.items()}
