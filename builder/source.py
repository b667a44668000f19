"""Source checkout: exactly the pushed commit, into a per-build workspace."""

from __future__ import annotations

from pathlib import Path

import git

from builder.buildlog import BuildLog
from builder.errors import BuildFailure

# Never prompt for credentials, never run ext:: transports, whatever the user's git config says.
GIT_ENV = {"GIT_TERMINAL_PROMPT": "0", "GIT_ASKPASS": "/bin/true", "GIT_ALLOW_PROTOCOL":
           "file:git:http:https:ssh"}


def checkout(url: str, sha: str, workspace: Path, log: BuildLog) -> None:
    """Fetch `sha` from `url` (shallow if the server allows, else everything) and check it out."""
    workspace.mkdir(parents=True, exist_ok=True)
    repo = git.Repo.init(workspace)
    repo.git.update_environment(**GIT_ENV)
    log.write(f"$ git fetch --depth=1 {url} {sha}")
    try:
        repo.git.fetch("--depth=1", "--no-tags", "--", url, sha)
    except git.GitCommandError as shallow_error:
        log.write(f"shallow fetch refused ({_last_line(shallow_error)}); fetching all refs")
        try:
            repo.git.fetch("--no-tags", "--", url, "+refs/heads/*:refs/remotes/origin/*",
                           "+refs/tags/*:refs/tags/*")
        except git.GitCommandError as exc:
            raise BuildFailure("clone", f"could not fetch from {url}: {_last_line(exc)}") from exc
    try:
        repo.git.checkout("--detach", "--force", sha)
    except git.GitCommandError as exc:
        raise BuildFailure("clone", f"commit {sha[:12]} not found in {url}") from exc
    log.write(f"checked out {sha} ({repo.head.commit.summary})")


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


