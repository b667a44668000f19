"""Builds asked for by hand (a missed hook): the same rules, records and dedupe as a webhook."""

from __future__ import annotations

import json
import re
from pathlib import Path

from bootstrap import Runtime
from builder.gitcmd import GitFailed, run_git
from builder.source import git_env
from ops.urlsecrets import without_credentials
from webhooks import outcomes
from webhooks.admit import build_or_ignore
from webhooks.events import MalformedPayload, PushEvent
from webhooks.intake_stream import IntakeUnavailable
from webhooks.outcomes import Outcome, Received
from webhooks.rules import is_valid_ref

PROVIDER = "manual"
PUSHER_HOST = "lockmaster"  # a build by hand is pushed by a Lockmaster user, not a Git account
_SHA = re.compile(r"^[0-9a-fA-F]{40}([0-9a-fA-F]{24})?$")


def trigger(runtime: Runtime, request: dict, replay_of: int | None = None) -> Outcome:
    """Build `repository` at `ref` (resolved on the clone URL) or at `sha` (with `ref`: only
    while it is the ref's tip); `requested_by`, a Lockmaster user, is recorded as the pusher."""
    body = json.dumps(request, sort_keys=True).encode()
    received = Received(PROVIDER, None, {}, body, replay_of)
    try:
        return _trigger(runtime, request, received)
    except IntakeUnavailable:
        return outcomes.unavailable()


def _trigger(runtime: Runtime, request: dict, received: Received) -> Outcome:
    try:
        repo, ref, sha = _parse(runtime, request)
        pusher = request.get("requested_by") if isinstance(request.get("requested_by"),
                                                           str) else None
        push = PushEvent(provider=repo.provider, repository=repo.name, ref=ref, after=sha,
                         clone_url=None, pusher=pusher,
                         pusher_ids=(pusher.lower(),) if pusher else (),
                         pusher_host=PUSHER_HOST)
        return build_or_ignore(runtime, received, PROVIDER, repo, [push])
    except MalformedPayload as exc:
        return outcomes.record(runtime, received, "malformed", 400, str(exc), event=PROVIDER)
    except _UnknownRepository as exc:
        return outcomes.record(runtime, received, "rejected", 404, str(exc), event=PROVIDER)
    except _NotTheTip as exc:
        return outcomes.record(runtime, received, "rejected", 409, str(exc), event=PROVIDER)


class _UnknownRepository(Exception):
    pass


class _NotTheTip(Exception):
    """A sha and a ref were given, but the ref points at another commit."""


def _parse(runtime: Runtime, request: dict):
    name, ref, sha = (request.get(k) for k in ("repository", "ref", "sha"))
    if not isinstance(name, str) or not name:
        raise MalformedPayload("give 'repository': the full name configured in lockmaster.yml")
    repo = runtime.settings.repository_named(name)
    if repo is None:
        raise _UnknownRepository(f"repository '{name}' is not configured in lockmaster.yml")
    if not repo.clone_url:
        raise MalformedPayload(f"repository '{name}' has no clone_url in lockmaster.yml: set "
                               "one to build it by hand")
    if not ref and not sha:
        raise MalformedPayload("give 'ref' (a branch, tag or full ref name) or 'sha'")
    if sha is not None and (not isinstance(sha, str) or not _SHA.match(sha)):
        raise MalformedPayload(f"sha {sha!r} is not a full 40-hex (or 64-hex) commit id")
    if ref is not None and not isinstance(ref, str):
        raise MalformedPayload("'ref' must be a string")
    if sha and not ref:  # "sha, no ref": built and staged, but it takes no branch's tags
        return repo, "", sha.lower()
    full, tip = _resolve(repo.clone_url, ref)
    if sha and sha.lower() != tip:
        raise _NotTheTip(f"{full} of {repo.name} is at {tip}, not at {sha.lower()}: build the "
                         "ref without 'sha', or the sha without 'ref'")
    return repo, full, tip


def _resolve(url: str, ref: str) -> tuple[str, str]:
    """The full ref name and commit of `ref` on the repository at url (git ls-remote)."""
    candidates = [ref] if ref.startswith("refs/") else [f"refs/heads/{ref}", f"refs/tags/{ref}"]
    for candidate in candidates:
        if not is_valid_ref(candidate):
            raise MalformedPayload(f"ref {ref!r} is not a valid Git ref name")
    shown = without_credentials(url)
    try:  # with exactly the environment a clone of url gets (no worker secrets, no prompts)
        output = run_git(Path("/"), "ls-remote", "--", url, *candidates,
                         *[c + "^{}" for c in candidates], env=git_env(url))
    except GitFailed as exc:
        raise MalformedPayload(f"could not list refs of {shown}: "
                               f"{without_credentials(exc.last_line)}") from exc
    found = dict(reversed(line.split("\t", 1)) for line in output.splitlines() if "\t" in line)
    for candidate in candidates:
        sha = found.get(candidate + "^{}") or found.get(candidate)
        if sha:
            return candidate, sha
    raise MalformedPayload(f"ref {ref!r} does not exist in {shown}")
