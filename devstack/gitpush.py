"""Signed GitHub push deliveries for a commit of a local repository (demo and tests)."""

from __future__ import annotations

import json
import uuid
import zlib
from pathlib import Path

import git
import requests

from webhooks.signatures import hmac_sha256_hex


def account_id(login: str) -> int:
    """The (made-up, stable) GitHub account id of a login in demo and test payloads."""
    return zlib.crc32(login.encode()) % 10_000_000


def push_payload(repo_path: Path, full_name: str, ref: str = "refs/heads/main",
                 sha: str | None = None, pusher: str = "demo") -> dict:
    """A GitHub `push` payload for `sha` (default: HEAD) of the repository at repo_path."""
    repo = git.Repo(repo_path)
    commit = repo.commit(sha) if sha else repo.head.commit
    return {
        "ref": ref,
        "before": "0" * 40,
        "after": commit.hexsha,
        "created": False,
        "deleted": False,
        "forced": False,
        "repository": {"full_name": full_name, "name": full_name.split("/")[-1],
                       "clone_url": str(repo_path), "html_url": f"file://{repo_path}"},
        "pusher": {"name": pusher, "email": f"{pusher}@example.com"},
        "sender": {"login": pusher, "id": account_id(pusher)},
        "head_commit": {"id": commit.hexsha, "message": commit.message.strip(),
                        "author": {"name": commit.author.name, "email": commit.author.email,
                                   "username": commit.author.name}},
    }


def signed_headers(body: bytes, secret: str, event: str = "push",
                   delivery: str | None = None) -> dict[str, str]:
    """The headers GitHub sends with a delivery, signed with secret."""
    return {
        "Content-Type": "application/json",
        "X-GitHub-Event": event,
        "X-GitHub-Delivery": delivery or str(uuid.uuid4()),
        "X-Hub-Signature-256": "sha256=" + hmac_sha256_hex(secret, body),
        "User-Agent": "GitHub-Hookshot/lockmaster-demo",
    }


def send_push(base_url: str, secret: str, payload: dict) -> requests.Response:
    """POST the payload to /webhooks/github as GitHub would."""
    body = json.dumps(payload).encode()
    return requests.post(f"{base_url}/webhooks/github", data=body,
                         headers=signed_headers(body, secret), timeout=30)
