"""Source checkout: exactly the pushed commit, via a per-repository mirror cache."""

from __future__ import annotations

import errno
import fcntl
import hashlib
import os
import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from builder.buildlog import BuildLog
from builder.childenv import child_env
from builder.errors import BuildFailure
from builder.gitcmd import GitFailed, run_git
from builder.masking import without_credentials
from builder.submodulefetch import fetch_submodules
from builder.submodules import is_local

# Never prompt for credentials, never run ext:: transports, whatever the user's git config says.
GIT_ENV = {"GIT_TERMINAL_PROMPT": "0", "GIT_ASKPASS": "/bin/true"}
REMOTE_PROTOCOLS = "git:http:https:ssh"
LAST_USED = "lockmaster-last-used"
# What git needs beyond every tool's variables to reach the repository's own host over SSH.
GIT_KEPT = ("SSH_AUTH_SOCK", "GIT_SSH_COMMAND")


def git_env(url: str) -> dict[str, str]:
    """Git's environment for a clone of url: the worker's own variables left out, and local
    paths (and so local submodules) only when the repository itself is local."""
    protocols = REMOTE_PROTOCOLS + (":file" if is_local(url) else "")
    # No credential or SSH agent of the worker goes further than the repository's own host:
    # submodules of other hosts are refused before git runs (builder/submodules.py).
    return child_env({**GIT_ENV, "GIT_ALLOW_PROTOCOL": protocols}, keep=GIT_KEPT)


def mirror_path(mirror_dir: Path, url: str) -> Path:
    """The mirror folder of one clone URL: readable name plus a hash, so URLs never collide."""
    readable = re.sub(r"[^A-Za-z0-9._-]+", "-", url.rstrip("/").split("/")[-1])[-40:]
    return mirror_dir / f"{readable}-{hashlib.sha256(url.encode()).hexdigest()[:12]}.git"


def checkout(url: str, sha: str, workspace: Path, log: BuildLog, *, mirror_dir: Path,
             submodules: bool = True, allowed_hosts: tuple[str, ...] = ()) -> None:
    """Fetch `sha` into the repository's mirror, check it out in workspace, with the
    submodules whose URLs are on the repository's own host(s)."""
    mirror = mirror_path(mirror_dir, url)
    env = git_env(url)
    with locked(mirror):
        _fetch(mirror, url, sha, env, log)
    with disk_space_checked(workspace.parent):
        _check_out(url, sha, mirror, workspace, log, env)
    if submodules:
        fetch_submodules(workspace, url, allowed_hosts, env, log, add_origin=True)


def _check_out(url: str, sha: str, mirror: Path, workspace: Path, log: BuildLog,
               env: dict[str, str]) -> None:
    shutil.rmtree(workspace, ignore_errors=True)  # left behind by a worker that was lost
    empty_repository(workspace / ".git", shared_objects=mirror / "objects")
    if (mirror / "shallow").exists():
        (workspace / ".git" / "shallow").write_bytes((mirror / "shallow").read_bytes())
    try:
        run_git(workspace, "checkout", "-q", "--detach", "--force", sha, env=env)
    except GitFailed as exc:
        raise BuildFailure("clone", f"commit {sha[:12]} not found in "
                                    f"{without_credentials(url)}") from exc
    subject = run_git(workspace, "show", "-s", "--format=%s", sha, env=env).strip()
    log.write(f"checked out {sha} ({subject})")


def empty_repository(git_dir: Path, shared_objects: Path | None = None,
                     bare: bool = False) -> None:
    """A new repository at git_dir (a bare one, or the .git of a work tree whose objects are
    shared_objects', like `git clone --shared`), written directly: `git init` also copies
    hook templates and probes the file system, several milliseconds of every build for
    settings that are git's defaults on the Linux file systems a worker uses. HEAD is
    written last: a folder without it is not a repository yet."""
    for folder in ("objects/info", "objects/pack", "refs/heads", "refs/tags"):
        (git_dir / folder).mkdir(parents=True, exist_ok=True)
    (git_dir / "config").write_text(
        "[core]\n\trepositoryformatversion = 0\n\tfilemode = true\n"
        f"\tbare = {str(bare).lower()}\n" + ("" if bare else "\tlogallrefupdates = true\n"))
    if shared_objects is not None:
        (git_dir / "objects" / "info" / "alternates").write_text(f"{shared_objects}\n")
    (git_dir / "HEAD").write_text("ref: refs/heads/main\n")


@contextmanager
def disk_space_checked(folder: Path) -> Iterator[None]:
    """Turn 'no space left on device' (from Python or from git) into a clear build failure."""
    try:
        yield
    except (OSError, GitFailed, BuildFailure) as exc:
        said = f"{exc} {exc.__cause__ or ''}"
        if getattr(exc, "errno", None) != errno.ENOSPC and "No space left" not in said:
            raise
        raise BuildFailure("clone", f"no space left on the disk of {folder}: free space there "
                                    "(or give the worker's workspace folder a bigger disk), "
                                    "then retry the build") from exc


def _fetch(mirror: Path, url: str, sha: str, env: dict[str, str], log: BuildLog) -> None:
    if not (mirror / "HEAD").exists():
        empty_repository(mirror, bare=True)
    (mirror / LAST_USED).touch()
    if _has_commit(mirror, sha, env):
        log.write(f"commit {sha[:12]} is already in the mirror cache")
        return
    shown = without_credentials(url)
    log.write(f"$ git fetch --depth=1 {shown} {sha}")
    try:
        run_git(mirror, "fetch", "-q", "--depth=1", "--no-tags", "--", url, sha, env=env)
        return
    except GitFailed as shallow_error:
        log.write(f"shallow fetch refused ({shallow_error.reason}); fetching all refs")
    try:
        unshallow = ["--unshallow"] if (mirror / "shallow").exists() else []
        run_git(mirror, "fetch", "-q", *unshallow, "--no-tags", "--", url,
                "+refs/heads/*:refs/heads/*", "+refs/tags/*:refs/tags/*", env=env)
    except GitFailed as exc:
        raise BuildFailure("clone", f"could not fetch from {shown}: {exc.reason}") from exc


def _has_commit(repo: Path, sha: str, env: dict[str, str]) -> bool:
    try:
        run_git(repo, "cat-file", "-e", f"{sha}^{{commit}}", env=env)
    except GitFailed:
        return False
    return True


@contextmanager
def locked(mirror: Path) -> Iterator[None]:
    """One fetch at a time per mirror, across the workers of this machine."""
    mirror.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(str(mirror) + ".lock", os.O_CREAT | os.O_RDWR, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def inside(workspace: Path, relative: str, what: str) -> Path:
    """`workspace/relative`, refusing paths that leave the workspace."""
    root = workspace.resolve()
    path = (root / relative).resolve()
    if path != root and root not in path.parents:
        raise BuildFailure("build", f"{what} '{relative}' points outside the repository")
    return path
