"""The first-start demo: a local Git repository, its lockmaster.yml entry, a real signed push."""

from __future__ import annotations

import secrets
from pathlib import Path

import git
import yaml

from devstack.baseimage import BASE_IMAGE

DEMO_NAME = "demo/hello"
SECRET_ENV = "LOCKMASTER_DEMO_SECRET"

DOCKERFILE = f"""\
FROM {BASE_IMAGE}
COPY hello.sh /usr/local/bin/hello
RUN chmod 0755 /usr/local/bin/hello && hello > /etc/hello.txt
CMD ["hello"]
"""
HELLO = """\
#!/bin/sh
echo "Hello from a Lockmaster-built image"
"""


def demo_dir(data_dir: Path) -> Path:
    """Where the demo repository and its secret live."""
    return data_dir / "demo"


def demo_secret(data_dir: Path) -> str:
    """The demo's webhook secret, created once and kept under the data dir."""
    path = demo_dir(data_dir) / "webhook-secret"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_hex(20))
        path.chmod(0o600)
    return path.read_text().strip()


def create_demo_repository(data_dir: Path) -> Path:
    """A Git repository with a Dockerfile on a locally made base, one commit on main."""
    path = demo_dir(data_dir) / "hello"
    if (path / ".git").exists():
        return path
    path.mkdir(parents=True, exist_ok=True)
    repo = git.Repo.init(path, initial_branch="main")
    (path / "Dockerfile").write_text(DOCKERFILE)
    (path / "hello.sh").write_text(HELLO)
    repo.index.add(["Dockerfile", "hello.sh"])
    actor = git.Actor("Demo Developer", "dev@example.com")
    repo.index.commit("Add the hello image", author=actor, committer=actor)
    return path


def write_config(config_path: Path, repo_path: Path, registry: dict | None = None) -> None:
    """A lockmaster.yml with the local registry (or the given one) and the demo repository."""
    document = {
        "registry": registry or {"url": "127.0.0.1:5000", "insecure": True,
                                 "staging": "staging", "production": "production"},
        "repositories": [{
            "name": DEMO_NAME, "provider": "github", "secret_env": SECRET_ENV,
            "clone_url": str(repo_path), "image": DEMO_NAME, "branches": ["main"],
            "dockerfile": "Dockerfile", "context": ".",
        }],
        # The demo listens on 127.0.0.1 only: its history can be read in a browser.
        "api": {"anonymous_read": True},
    }
    header = "# Created by `make run` for the demo; edit freely (see docs/configuration.md).\n"
    config_path.write_text(header + yaml.safe_dump(document, sort_keys=False))
