"""What changes if a build is promoted: commits since production's digest, from a mirror."""

from __future__ import annotations

import fcntl
import hashlib
import logging
from dataclasses import dataclass
from pathlib import Path

import git

from bootstrap import Runtime
from builder.gitcmd import GitFailed, run_git
from builder.source import git_env
from ops.urlsecrets import without_credentials
from record.models import Build

MAX_COMMITS = 100
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Change:
    """One commit that promotion would bring."""

    sha: str
    summary: str
    author: str


def mirror(runtime: Runtime, build: Build) -> git.Repo:
    """The repository's bare mirror under the data dir, fetched now."""
    name = hashlib.sha256(build.clone_url.encode()).hexdigest()[:16]
    path = Path(runtime.settings.data_dir) / "mirrors" / f"{name}.git"
    path.parent.mkdir(parents=True, exist_ok=True)
    # Concurrent page views and approvals share the mirror; git's ref locks would fail them.
    with open(path.with_suffix(".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        repo = git.Repo(path) if path.exists() else git.Repo.init(path, bare=True, mkdir=True)
        # The fetch talks to the Git host: with a clone's environment, not the web's secrets.
        try:
            run_git(path, "fetch", "--prune", "--", build.clone_url,
                    "+refs/heads/*:refs/heads/*", "+refs/tags/*:refs/tags/*",
                    env=git_env(build.clone_url))
        except GitFailed as exc:
            raise ValueError(f"could not fetch {without_credentials(build.clone_url)}: "
                             f"{without_credentials(exc.last_line)}") from exc
    return repo


def commits_between(runtime: Runtime, build: Build, base_sha: str | None) -> list[Change]:
    """Commits reachable from the build's commit but not from base_sha (newest first)."""
    repo = mirror(runtime, build)
    spec = f"{base_sha}..{build.commit_sha}" if base_sha else build.commit_sha
    return [Change(c.hexsha, c.summary, f"{c.author.name} <{c.author.email}>")
            for c in repo.iter_commits(spec, max_count=MAX_COMMITS)]


def author_identities(runtime: Runtime, build: Build) -> set[str]:
    """Names and emails of the commit's author, as recorded and as the repository says."""
    found = {build.commit_author} if build.commit_author else set()
    try:
        commit = mirror(runtime, build).commit(build.commit_sha)
        found |= {commit.author.email, commit.author.name}
    except (git.GitCommandError, ValueError) as exc:
        log.warning("could not read the author of %s from the mirror: %s", build.commit_sha, exc)
    return {f for f in found if f}
