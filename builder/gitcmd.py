"""git run as a child of the worker: an explicit environment, output captured, errors kept."""

from __future__ import annotations

import subprocess
from pathlib import Path

from builder.masking import without_credentials

GIT_TIMEOUT_SECONDS = 3600


class GitFailed(Exception):
    """A git command failed; `last_line` is what git said last (its reason)."""

    def __init__(self, args: tuple[str, ...], stderr: str):
        super().__init__(f"git {' '.join(args)} failed: {stderr.strip()}")
        self.stderr = stderr

    @property
    def last_line(self) -> str:
        """git's last words, e.g. `fatal: couldn't find remote ref …`."""
        lines = [line.strip() for line in self.stderr.splitlines() if line.strip()]
        return lines[-1] if lines else "no reason given"

    @property
    def reason(self) -> str:
        """git's last words as shown to people: no credentials of any URL it quotes."""
        return without_credentials(self.last_line.removeprefix("fatal: "))


def run_git(cwd: Path, *args: str, env: dict[str, str]) -> str:
    """Run `git args` in cwd with exactly env; its standard output."""
    try:
        done = subprocess.run(["git", *args], cwd=cwd, env=env, capture_output=True,
                              text=True, errors="replace", timeout=GIT_TIMEOUT_SECONDS,
                              check=False, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired as exc:
        raise GitFailed(args, f"did not finish within {GIT_TIMEOUT_SECONDS} s") from exc
    except OSError as exc:
        raise GitFailed(args, f"could not start git: {exc}") from exc
    if done.returncode != 0:
        raise GitFailed(args, done.stderr)
    return done.stdout
