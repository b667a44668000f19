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

import git

from builder.buildlog import BuildLog
from builder.errors import BuildFailure

# Never prompt for credentials, never run ext:: transports, whatever the user's git config says.
GIT_ENV = {"GIT_TERMINAL_PROMPT": "0", "GIT_ASKPASS": "/bin/true"}
REMOTE_PROTOCOLS = "git:http:https:ssh"
LAST_USED = "lockmaster-last-used"


def git_env(url: str) -> dict[str, str]:
    """Git's environment for a clone of url: local paths (and so local submodules) only when
    the repository itself is local, so a hostile .gitmodules cannot read this machine's disk."""
    protocols = REMOTE_PROTOCOLS + (":file" if is_local(url) else "")
    return {**GIT_ENV, "GIT_ALLOW_PROTOCOL": protocols}


def is_local(url: str) -> bool:
    """True for a path or file:// URL."""
    return url.startswith(("/", "./", "../", "file://"))


def mirror_path(mirror_dir: Path, url: str) -> Path:
    """The mirror folder of one clone URL: readable name plus a hash, so URLs never collide."""
    readable = re.sub(r"[^A-Za-z0-9._-]+", "-", url.rstrip("/").split("/")[-1])[-40:]
    return mirror_dir / f"{readable}-{hashlib.sha256(url.encode()).hexdigest()[:12]}.git"


def checkout(url: str, sha: str, workspace: Path, log: BuildLog, *, mirror_dir: Path,
             submodules: bool = True) -> None:
    """Fetch `sha` into the repository's mirror, check it out in workspace, with submodules."""
    mirror = mirror_path(mirror_dir, url)
    env = git_env(url)
    with locked(mirror):
        _fetch(mirror, url, sha, env, log)
    with disk_space_checked(workspace.parent):
        repo = _check_out(url, sha, mirror, workspace, log, env)
    if submodules and (workspace / ".gitmodules").exists():
        repo.git.remote("add", "origin", url)  # relative submodule URLs are resolved from it
        _submodules(repo, log)


def _check_out(url: str, sha: str, mirror: Path, workspace: Path, log: BuildLog,
               env: dict[str, str]) -> git.Repo:
    shutil.rmtree(workspace, ignore_errors=True)  # left behind by a worker that was lost
    workspace.mkdir(parents=True)
    repo = git.Repo.init(workspace)
    repo.git.update_environment(**env)
    # Share the mirror's objects instead of copying them (like `git clone --shared`).
    (workspace / ".git" / "objects" / "info" / "alternates").write_text(
        str(mirror / "objects") + "\n")
    if (mirror / "shallow").exists():
        (workspace / ".git" / "shallow").write_bytes((mirror / "shallow").read_bytes())
    try:
        repo.git.checkout("--detach", "--force", sha)
    except git.GitCommandError as exc:
        raise BuildFailure("clone", f"commit {sha[:12]} not found in {url}") from exc
    log.write(f"checked out {sha} ({repo.git.show('-s', '--format=%s', sha)})")
    return repo


@contextmanager
def disk_space_checked(folder: Path) -> Iterator[None]:
    """Turn 'no space left on device' (from Python or from git) into a clear build failure."""
    try:
        yield
    except (OSError, git.GitCommandError, BuildFailure) as exc:
        said = f"{exc} {exc.__cause__ or ''}"
        if getattr(exc, "errno", None) != errno.ENOSPC and "No space left" not in said:
            raise
        raise BuildFailure("clone", f"no space left on the disk of {folder}: free space there "
                                    "(or give the worker's workspace folder a bigger disk), "
                                    "then retry the build") from exc


def _fetch(mirror: Path, url: str, sha: str, env: dict[str, str], log: BuildLog) -> None:
    if not (mirror / "HEAD").exists():
        git.Repo.init(mirror, bare=True)
    repo = git.Repo(mirror)
    repo.git.update_environment(**env)
    (mirror / LAST_USED).touch()
    if _has_commit(repo, sha):
        log.write(f"commit {sha[:12]} is already in the mirror cache")
        return
    log.write(f"$ git fetch --depth=1 {url} {sha}")
    try:
        repo.git.fetch("--depth=1", "--no-tags", "--", url, sha)
        return
    except git.GitCommandError as shallow_error:
        log.write(f"shallow fetch refused ({_last_line(shallow_error)}); fetching all refs")
    try:
        unshallow = ["--unshallow"] if (mirror / "shallow").exists() else []
        repo.git.fetch(*unshallow, "--no-tags", "--", url, "+refs/heads/*:refs/heads/*",
                       "+refs/tags/*:refs/tags/*")
    except git.GitCommandError as exc:
        raise BuildFailure("clone", f"could not fetch from {url}: {_last_line(exc)}") from exc


def _has_commit(repo: git.Repo, sha: str) -> bool:
    try:
        repo.git.cat_file("-e", f"{sha}^{{commit}}")
    except git.GitCommandError:
        return False
    return True


def _submodules(repo: git.Repo, log: BuildLog) -> None:
    log.write("$ git submodule update --init --recursive")
    try:
        repo.git.submodule("update", "--init", "--recursive", "--depth=1")
    except git.GitCommandError:
        log.write("shallow submodule fetch refused; fetching them whole")
        try:
            repo.git.submodule("update", "--init", "--recursive")
        except git.GitCommandError as exc:
            raise BuildFailure("clone", f"could not fetch the submodules: {_last_line(exc)} "
                                        "(set submodules: false in lockmaster.yml if the image "
                                        "does not need them)") from exc


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


def _last_line(exc: git.GitCommandError) -> str:
    text = (exc.stderr or str(exc)).strip()
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return (lines[-1] if lines else text).removeprefix("stderr: ").strip("'")
