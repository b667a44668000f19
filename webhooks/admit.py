"""Webhook intake's front door: admit(delivery) → answer. One delivery from a Git host is
authenticated, normalised and judged by the repository's rules, then put on the intake stream
(webhooks/outcomes.py); the recorder (webhooks/recorder/) writes its rows a moment later."""

from __future__ import annotations

import json
from collections.abc import Mapping
from types import ModuleType

from bootstrap import Runtime
from config import RepositoryConfig
from states import DeliveryOutcome
from webhooks import bitbucket, gitea, github, gitlab, outcomes
from webhooks.events import IgnoredEvent, MalformedPayload, PushEvent
from webhooks.intake_stream import IntakeUnavailable
from webhooks.outcomes import Outcome, Plan, Received
from webhooks.rules import clone_source, ignore_reason, validate_push

PROVIDERS: dict[str, ModuleType] = {m.NAME: m for m in (github, gitlab, gitea, bitbucket)}
# Headers worth keeping with a delivery; never X-Gitlab-Token, which is the secret itself.
_KEPT_PREFIXES = ("x-github-", "x-gitlab-event", "x-gitlab-instance", "x-gitlab-webhook-uuid",
                  "x-gitea-", "x-forgejo-", "x-gogs-", "x-hub-signature", "x-event-key",
                  "x-request-uuid", "x-hook-uuid", "idempotency-key", "content-type",
                  "user-agent")


def kept_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """The headers stored with a delivery (enough to show and replay it, never a secret)."""
    return {k: v for k, v in headers.items() if k.lower().startswith(_KEPT_PREFIXES)}


def admit(runtime: Runtime, provider: ModuleType, headers: Mapping[str, str], body: bytes,
          replay_of: int | None = None) -> Outcome:
    """Admit one delivery and say what to answer. A replay (of a stored authentic delivery)
    skips authentication and the delivery-id dedupe, but not the dedupe of builds by commit.
    Its rows are written by the recorder; nothing here waits on the database."""
    received = Received(provider.NAME, provider.delivery_id(headers, body),
                        kept_headers(headers), body, replay_of)
    try:
        return _judge(runtime, provider, headers, received)
    except IntakeUnavailable:
        return outcomes.unavailable()


def _judge(runtime: Runtime, provider: ModuleType, headers: Mapping[str, str],
           received: Received) -> Outcome:
    body, replay, signer = received.body, received.replay_of is not None, None
    if not replay:
        signer = _authenticated_repository(runtime, provider, headers, body)
        if signer is None:
            return _refuse(runtime, provider, received)
        if not received.delivery_id:
            return outcomes.record(runtime, received, DeliveryOutcome.MALFORMED, 400,
                                 f"missing {provider.DELIVERY_HEADER} header")
    try:
        result = provider.parse(headers, body)
        if isinstance(result, IgnoredEvent):
            return outcomes.record(runtime, received, DeliveryOutcome.IGNORED, 200, result.reason,
                                 event=result.event, repository=result.repository)
        name = result[0].repository
        repo = signer if signer is not None and signer.name.lower() == name.lower() else \
            _repository(runtime, provider, headers, body, name, replay)
        if repo is None:
            return outcomes.record(runtime, received, DeliveryOutcome.REJECTED, 404,
                                 f"repository '{name}' is not configured in lockmaster.yml "
                                 "with this secret", repository=name)
        return build_or_ignore(runtime, received, "push", repo, result)
    except MalformedPayload as exc:
        return outcomes.record(runtime, received, DeliveryOutcome.MALFORMED, 400, str(exc))


def build_or_ignore(runtime: Runtime, received: Received, event: str, repo: RepositoryConfig,
                    pushes: list[PushEvent]) -> Outcome:
    """Validate every push (MalformedPayload if one is hostile), then build those that
    the repository's rules accept; record the delivery as ignored if none is."""
    for push in pushes:
        validate_push(push)
    plans, reasons = [], []
    for push in pushes:
        reason = ignore_reason(push, repo.branches, repo.tags)
        if reason:
            reasons.append(reason)
            continue
        clone_url = clone_source(repo.clone_url, push.clone_url, runtime.settings.clone_hosts)
        plans.append(Plan(push, repo, clone_url))
    if not plans:
        return outcomes.record(runtime, received, DeliveryOutcome.IGNORED, 200, "; ".join(reasons),
                             event=event, repository=repo.name, ref=pushes[0].ref)
    return outcomes.accept(runtime, received, event, plans)


def _authenticated_repository(runtime: Runtime, provider: ModuleType,
                              headers: Mapping[str, str], body: bytes):
    """The configured repository whose secret signed this body, if any."""
    for repo in runtime.settings.repositories:
        if repo.provider == provider.NAME and repo.secret \
                and provider.is_authentic(repo.secret, body, headers):
            return repo
    return None


def _repository(runtime: Runtime, provider: ModuleType, headers: Mapping[str, str],
                body: bytes, name: str, replay: bool):
    """The configured repository `name`, if its own secret signed this body (or on replay)."""
    repo = runtime.settings.repository(provider.NAME, name)
    if repo is None:
        return None
    if replay or (repo.secret and provider.is_authentic(repo.secret, body, headers)):
        return repo
    return None


def _refuse(runtime: Runtime, provider: ModuleType, received: Received) -> Outcome:
    """No configured secret signed the body: say whether the repository is unknown or the
    signature is wrong, acting on nothing in the body."""
    settings = runtime.settings
    try:
        name = provider.repository_name(json.loads(received.body))
    except ValueError:
        name = None
    if name and settings.repository(provider.NAME, name) is None:
        status, reason = 404, (f"repository '{name}' is not configured: add it to "
                               f"{settings.config_path.name} with provider {provider.NAME}")
    else:
        status, reason = 401, ("signature missing or wrong: set the hook's secret to the value "
                               "of the repository's secret_env in lockmaster.yml")
    return outcomes.record(runtime, received, DeliveryOutcome.REJECTED, status, reason,
                           repository=name)
