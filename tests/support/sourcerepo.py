"""Git repositories on disk that play the role of a Git host's repository in tests."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import git

from devstack.gitpush import push_payload

AUTHOR = git.Actor("Alice Author", "alice@example.com")


@dataclass
class SourceRepo:
    """A working repository whose commits tests push to Lockmaster."""

    path: Path
    repo: git.Repo

    @classmethod
    def create(cls, path: Path, base_image: str) -> SourceRepo:
        """A repository with a small Dockerfile on the local base image, one commit on main."""
        path.mkdir(parents=True)
        source = cls(path, git.Repo.init(path, initial_branch="main"))
        source.commit({
            "Dockerfile": f"FROM {base_image}\nCOPY app.txt /app/app.txt\n"
                          "RUN cat /app/app.txt\nCMD [\"cat\", \"/app/app.txt\"]\n",
            "app.txt": "version 1\n",
        }, "Initial version")
        return source

    def commit(self, files: dict[str, str], message: str = "Change") -> str:
        """Write files and commit them on the current branch; returns the SHA."""
        for name, content in files.items():
            target = self.path / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(content)
            self.repo.index.add([name])
        return self.repo.index.commit(message, author=AUTHOR, committer=AUTHOR).hexsha

    @property
    def head(self) -> str:
        """The SHA of HEAD."""
        return self.repo.head.commit.hexsha

    def payload(self, ref: str = "refs/heads/main", sha: str | None = None,
                full_name: str = "acme/web", pusher: str = "bob") -> dict:
        """A GitHub push payload for a commit of this repository."""
        return push_payload(self.path, full_name, ref=ref, sha=sha, pusher=pusher)
