"""Deliveries as each Git host sends them, written from the hosts' documented formats.

GitHub: docs.github.com "Webhook events and payloads" (push, ping) and "Validating deliveries".
GitLab: docs.gitlab.com "Webhook events" (Push Hook, Tag Push Hook) and "Webhooks" (headers).
Gitea/Forgejo: docs.gitea.com "Webhooks" (push, delete; X-Gitea-*/X-Forgejo-* headers).
Bitbucket Cloud: support.atlassian.com "Event payloads" (repo:push) and "Manage webhooks"
(X-Hub-Signature with a secret)."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass

from tests.support.stack import wait_recorded
from webhooks.events import ZERO_SHA
from webhooks.signatures import hmac_sha256_hex


@dataclass
class Commit:
    """What a payload says about one commit."""

    sha: str
    message: str = "Initial version"
    author: str = "Alice Author"


class Host:
    """One Git host: its endpoint, payloads and signed headers."""

    name: str
    push_event: str
    ping_event: str
    unrelated_event: str

    @property
    def deletion_event(self) -> str:
        """The event a branch deletion arrives as."""
        return self.push_event

    @property
    def tag_event(self) -> str:
        """The event a tag push arrives as."""
        return self.push_event

    def post(self, client, kind: str, payload: dict | None, secret: str | None,
             delivery: str | None = None, body: bytes | None = None, headers: dict | None = None,
             wait: bool = True):
        """Send a delivery of `kind` (an event name) signed with secret, then (wait=True) wait
        until the app's recorder has written it."""
        raw = body if body is not None else json.dumps(payload).encode()
        sent = self.headers(raw, secret, kind, delivery or str(uuid.uuid4()))
        sent.update(headers or {})
        response = client.post(f"/webhooks/{self.name}", data=raw, headers=sent)
        if wait and response.status_code != 503:
            wait_recorded(client.application)
        return response

    def bad_auth(self, body: bytes, secret: str) -> dict[str, dict]:
        """Headers that must all be refused: wrong secret, missing, wrong prefix, truncated."""
        raise NotImplementedError


class GitHub(Host):
    name, push_event, ping_event, unrelated_event = "github", "push", "ping", "issues"
    pusher_accounts = ("github:583231",)  # what the build records of who pushed

    def headers(self, body, secret, kind, delivery):
        sent = {"Content-Type": "application/json", "X-GitHub-Event": kind,
                "X-GitHub-Delivery": delivery, "User-Agent": "GitHub-Hookshot/1"}
        if secret is not None:
            sent["X-Hub-Signature-256"] = "sha256=" + hmac_sha256_hex(secret, body)
        return sent

    def bad_auth(self, body, secret):
        good = hmac_sha256_hex(secret, body)
        return {"wrong secret": {"X-Hub-Signature-256": "sha256=" + hmac_sha256_hex("x", body)},
                "missing": {"X-Hub-Signature-256": ""},
                "wrong prefix": {"X-Hub-Signature-256": "sha1=" + good},
                "truncated": {"X-Hub-Signature-256": "sha256=" + good[:40]}}

    def push(self, name, ref, commit, clone_url):
        return {"ref": ref, "before": ZERO_SHA, "after": commit.sha, "created": True,
                "deleted": False, "forced": False,
                "repository": {"full_name": name, "clone_url": clone_url,
                               "html_url": f"https://github.com/{name}"},
                "pusher": {"name": "bob", "email": "bob@example.com"},
                "sender": {"login": "bob", "id": 583231},
                "head_commit": {"id": commit.sha, "message": commit.message,
                                "author": {"name": commit.author, "username": commit.author}}}

    def deletion(self, name, ref):
        return {"ref": ref, "before": "a" * 40, "after": ZERO_SHA, "deleted": True,
                "head_commit": None, "repository": {"full_name": name},
                "pusher": {"name": "bob"}}

    def ping(self, name):
        return {"zen": "Keep it logically awesome.", "hook_id": 1,
                "repository": {"full_name": name}}

    def unrelated(self, name):
        return {"action": "opened", "repository": {"full_name": name}}


class GitLab(Host):
    name, push_event, unrelated_event = "gitlab", "Push Hook", "Issue Hook"
    pusher_accounts = ("gitlab:4021",)
    # GitLab's "Test" button sends a real Push Hook; its connectivity event for other kinds is
    # e.g. a Merge Request Hook. Any event that is not a push is answered 200.
    ping_event = "Merge Request Hook"
    tag_event = "Tag Push Hook"

    def headers(self, body, secret, kind, delivery):
        sent = {"Content-Type": "application/json", "X-Gitlab-Event": kind,
                "X-Gitlab-Event-UUID": delivery, "Idempotency-Key": delivery,
                "X-Gitlab-Instance": "https://gitlab.example.com", "User-Agent": "GitLab/17.0"}
        if secret is not None:
            sent["X-Gitlab-Token"] = secret
        return sent

    def bad_auth(self, body, secret):
        return {"wrong secret": {"X-Gitlab-Token": "not-" + secret},
                "missing": {"X-Gitlab-Token": ""},
                "wrong prefix": {"X-Gitlab-Token": "sha256=" + secret},
                "truncated": {"X-Gitlab-Token": secret[:-4]}}

    def push(self, name, ref, commit, clone_url, tag_object: str | None = None):
        kind = "tag_push" if ref.startswith("refs/tags/") else "push"
        return {"object_kind": kind, "event_name": kind, "before": ZERO_SHA,
                "after": tag_object or commit.sha, "ref": ref, "checkout_sha": commit.sha,
                "user_name": "Bob Pusher", "user_username": "bob", "user_id": 4021,
                "project": {"path_with_namespace": name, "git_http_url": clone_url,
                            "web_url": f"https://gitlab.example.com/{name}"},
                "commits": [{"id": commit.sha, "message": commit.message,
                             "author": {"name": commit.author, "email": "a@example.com"}}],
                "total_commits_count": 1}

    def deletion(self, name, ref):
        return {"object_kind": "push", "before": "a" * 40, "after": ZERO_SHA, "ref": ref,
                "checkout_sha": None, "user_username": "bob", "commits": [],
                "project": {"path_with_namespace": name}}

    def ping(self, name):
        return {"object_kind": "merge_request", "project": {"path_with_namespace": name}}

    def unrelated(self, name):
        return {"object_kind": "issue", "project": {"path_with_namespace": name}}


class Gitea(Host):
    name, push_event, unrelated_event = "gitea", "push", "issues"
    pusher_accounts = ("gitea:7",)
    # Gitea/Forgejo have no ping; "Test Delivery" sends a push. A `create` event stands in.
    ping_event = "create"

    def __init__(self, forgejo: bool = False):
        self.brand = "Forgejo" if forgejo else "Gitea"

    def headers(self, body, secret, kind, delivery):
        sent = {"Content-Type": "application/json", f"X-{self.brand}-Event": kind,
                f"X-{self.brand}-Delivery": delivery, f"X-{self.brand}-Event-Type": kind}
        if secret is not None:
            sent[f"X-{self.brand}-Signature"] = hmac_sha256_hex(secret, body)
        return sent

    def bad_auth(self, body, secret):
        good, header = hmac_sha256_hex(secret, body), f"X-{self.brand}-Signature"
        return {"wrong secret": {header: hmac_sha256_hex("x", body)}, "missing": {header: ""},
                "wrong prefix": {header: "sha256=" + good}, "truncated": {header: good[:40]}}

    def push(self, name, ref, commit, clone_url):
        author = {"name": commit.author, "email": "a@example.com", "username": commit.author}
        return {"ref": ref, "before": ZERO_SHA, "after": commit.sha,
                "compare_url": "", "commits": [{"id": commit.sha, "message": commit.message,
                                                "author": author}],
                "head_commit": {"id": commit.sha, "message": commit.message, "author": author},
                "repository": {"full_name": name, "clone_url": clone_url,
                               "html_url": f"https://gitea.example.com/{name}"},
                "pusher": {"login": "bob", "username": "bob"},
                "sender": {"login": "bob", "id": 7}}

    def deletion(self, name, ref):
        return {"ref": ref.split("/", 2)[-1], "ref_type": "branch", "pusher_type": "user",
                "repository": {"full_name": name}, "sender": {"login": "bob"}}

    deletion_event = "delete"

    def ping(self, name):
        return {"ref": "v9", "ref_type": "tag", "repository": {"full_name": name}}

    def unrelated(self, name):
        return {"action": "opened", "repository": {"full_name": name}}


class Bitbucket(Host):
    name, push_event, ping_event = "bitbucket", "repo:push", "diagnostics:ping"
    unrelated_event = "issue:created"
    pusher_accounts = ("bitbucket:557058:0b0b", "bitbucket:{b0b0b0b0-0000-4000-8000-0b0b}")

    def headers(self, body, secret, kind, delivery):
        sent = {"Content-Type": "application/json", "X-Event-Key": kind,
                "X-Request-UUID": delivery, "X-Hook-UUID": "{hook}",
                "User-Agent": "Bitbucket-Webhooks/2.0"}
        if secret is not None:
            sent["X-Hub-Signature"] = "sha256=" + hmac_sha256_hex(secret, body)
        return sent

    def bad_auth(self, body, secret):
        good = hmac_sha256_hex(secret, body)
        return {"wrong secret": {"X-Hub-Signature": "sha256=" + hmac_sha256_hex("x", body)},
                "missing": {"X-Hub-Signature": ""},
                "wrong prefix": {"X-Hub-Signature": "sha1=" + good},
                "truncated": {"X-Hub-Signature": "sha256=" + good[:40]}}

    def change(self, ref, commit: Commit | None):
        kind = "tag" if ref.startswith("refs/tags/") else "branch"
        name = ref.split("/", 2)[2] if ref.count("/") >= 2 else ref
        new = None if commit is None else {
            "type": kind, "name": name,
            "target": {"type": "commit", "hash": commit.sha, "message": commit.message,
                       "author": {"raw": f"{commit.author} <a@example.com>",
                                  "user": {"display_name": commit.author}}}}
        old = {"type": kind, "name": name, "target": {"hash": "a" * 40}}
        return {"new": new, "old": old if commit is None else None, "created": commit is not None,
                "closed": commit is None, "forced": False, "truncated": False}

    def push(self, name, ref, commit, clone_url, changes: list | None = None):
        html = clone_url.removesuffix(".git") if clone_url else f"https://bitbucket.org/{name}"
        return {"actor": {"display_name": "Bob Pusher", "nickname": "bob",
                          "account_id": "557058:0b0b", "uuid": "{B0B0B0B0-0000-4000-8000-0B0B}"},
                "repository": {"full_name": name, "type": "repository",
                               "links": {"html": {"href": html}}},
                "push": {"changes": changes or [self.change(ref, commit)]}}

    def deletion(self, name, ref):
        return self.push(name, ref, None, None, changes=[self.change(ref, None)])

    def ping(self, name):
        return {"repository": {"full_name": name}}

    def unrelated(self, name):
        return {"issue": {"id": 1}, "repository": {"full_name": name}}


HOSTS = {host.name: host for host in (GitHub(), GitLab(), Gitea(), Bitbucket())}
