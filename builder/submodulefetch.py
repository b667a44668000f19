"""Fetching a commit's submodules, each URL checked against the repository's own host(s)
(builder/submodules.py) before git may fetch it."""

from __future__ import annotations

from pathlib import Path

from builder.buildlog import BuildLog
from builder.errors import BuildFailure
from builder.gitcmd import GitFailed, run_git
from builder.submodules import refusal, resolve

MAX_SUBMODULE_DEPTH = 5


def fetch_submodules(folder: Path, url: str, allowed_hosts: tuple[str, ...], env: dict[str, str],
                log: BuildLog, depth: int = 0, add_origin: bool = False) -> None:
    """Check every submodule URL of the commit checked out in folder (read from Git's objects,
    never from the checkout), fetch them, then theirs, down to MAX_SUBMODULE_DEPTH.
    `add_origin`: first name url as folder's origin (relative URLs need it; a checkout with
    no submodules is spared the git call)."""
    declared = _declared_submodules(folder, env)
    if not declared:
        return
    if add_origin:
        run_git(folder, "remote", "add", "origin", url, env=env)
    if depth >= MAX_SUBMODULE_DEPTH:
        raise BuildFailure("clone", f"submodules nest deeper than {MAX_SUBMODULE_DEPTH} levels")
    for name, (_path, sub_url) in declared.items():
        refused = refusal(name, sub_url, url, allowed_hosts)
        if refused:
            raise BuildFailure("clone", refused)
    log.write(f"$ git submodule update --init{' (in ' + str(folder.name) + ')' if depth else ''}")
    try:
        run_git(folder, "submodule", "update", "--init", "--depth=1", env=env)
    except GitFailed:
        log.write("shallow submodule fetch refused; fetching them whole")
        try:
            run_git(folder, "submodule", "update", "--init", env=env)
        except GitFailed as exc:
            raise BuildFailure("clone", f"could not fetch the submodules: {exc.reason} "
                                        "(set submodules: false in lockmaster.yml if the image "
                                        "does not need them)") from exc
    for _name, (path, sub_url) in declared.items():
        inner = folder / path
        if inner.resolve().is_relative_to(folder.resolve()) and (inner / ".git").exists():
            fetch_submodules(inner, resolve(sub_url, url), allowed_hosts, env, log, depth + 1)


def _declared_submodules(folder: Path, env: dict[str, str]) -> dict[str, tuple[str, str]]:
    """{name: (path, url)} of the .gitmodules blob of HEAD (none if it has no .gitmodules)."""
    try:
        listing = run_git(folder, "config", "--blob", "HEAD:.gitmodules", "--null", "--list",
                          env=env)
    except GitFailed:
        return {}
    values: dict[tuple[str, str], str] = {}
    for entry in filter(None, listing.split("\0")):
        key, _newline, value = entry.partition("\n")
        section, _dot, rest = key.partition(".")
        name, _dot, field = rest.rpartition(".")
        if section == "submodule" and field in ("path", "url"):
            values[(name, field)] = value
    names = {name for name, _field in values}
    return {name: (values.get((name, "path"), name), values.get((name, "url"), ""))
            for name in sorted(names)}
