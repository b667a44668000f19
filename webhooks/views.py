"""The webhook endpoints: authenticate, normalise, dedupe, record, enqueue."""

from __future__ import annotations

import json
from types import ModuleType

from flask import Blueprint, jsonify, request

from bootstrap import current_runtime
from webhooks import github, intake
from webhooks.events import IgnoredEvent, MalformedPayload
from webhooks.rules import clone_source, ignore_reason, validate_push

bp = Blueprint("webhooks", __name__, url_prefix="/webhooks")
PROVIDERS: dict[str, ModuleType] = {"github": github}


@bp.post("/<provider_name>")
def receive(provider_name: str):
    """Take one delivery from a Git host."""
    provider = PROVIDERS.get(provider_name)
    if provider is None:
        return _answer(404, {"error": f"no webhook endpoint for '{provider_name}'; "
                                      f"use one of /webhooks/{', /webhooks/'.join(PROVIDERS)}"})
    outcome = _handle(provider, request.get_data(cache=False))
    return _answer(outcome.status, outcome.body)


def _handle(provider: ModuleType, body: bytes) -> intake.Outcome:
    runtime = current_runtime()
    db, name = runtime.db, provider.NAME
    delivery_id = provider.delivery_id(request.headers)
    repo = _authenticated_repository(provider, body)
    if repo is None:
        return _refuse(provider, body, delivery_id)
    if not delivery_id:
        return intake.record(db, name, None, "malformed", 400,
                             f"missing {provider.DELIVERY_HEADER} header")
    previous = intake.previous_outcome(db, name, delivery_id)
    if previous is not None:
        return previous
    try:
        event = provider.parse(request.headers, _json(body))
        if isinstance(event, IgnoredEvent):
            return intake.record(db, name, delivery_id, "ignored", 200, event.reason,
                                 event=event.event, repository=event.repository)
        if event.repository.lower() != repo.name.lower():
            repo = _signed_by(provider, body, event.repository)
            if repo is None:
                return intake.record(db, name, delivery_id, "rejected", 404,
                                     f"repository '{event.repository}' is not configured in "
                                     "lockmaster.yml with this secret",
                                     repository=event.repository)
        validate_push(event)
        clone_url = clone_source(repo.clone_url, event.clone_url)
    except MalformedPayload as exc:
        return intake.record(db, name, delivery_id, "malformed", 400, str(exc))
    reason = ignore_reason(event, repo.branches, repo.tags)
    if reason:
        return intake.record(db, name, delivery_id, "ignored", 200, reason, event="push",
                             repository=repo.name, ref=event.ref)
    try:
        return intake.accept_push(runtime, delivery_id, event, repo, clone_url)
    except intake.QueueUnavailable:
        return intake.Outcome(503, {"error": "the build queue (Redis) is not answering; nothing "
                                             "was recorded: redeliver this webhook later"})


def _authenticated_repository(provider: ModuleType, body: bytes):
    """The configured repository whose secret signed this body, if any."""
    for repo in current_runtime().settings.repositories:
        if repo.provider == provider.NAME and repo.secret \
                and provider.is_authentic(repo.secret, body, request.headers):
            return repo
    return None


def _signed_by(provider: ModuleType, body: bytes, name: str):
    """The configured repository `name`, if its own secret signed this body."""
    repo = current_runtime().settings.repository(provider.NAME, name)
    if repo and repo.secret and provider.is_authentic(repo.secret, body, request.headers):
        return repo
    return None


def _refuse(provider: ModuleType, body: bytes, delivery_id: str | None) -> intake.Outcome:
    """No configured secret signed the body: say whether the repository is unknown or the
    signature is wrong, acting on nothing in the body."""
    settings = current_runtime().settings
    try:
        name = provider.repository_name(json.loads(body))
    except ValueError:
        name = None
    if name and settings.repository(provider.NAME, name) is None:
        status, reason = 404, (f"repository '{name}' is not configured: add it to "
                               f"{settings.config_path.name} with provider {provider.NAME}")
    else:
        status, reason = 401, ("signature missing or wrong: set the hook's secret to the value "
                               "of the repository's secret_env in lockmaster.yml")
    return intake.record(current_runtime().db, provider.NAME, delivery_id, "rejected", status,
                         reason, repository=name)


def _json(body: bytes) -> object:
    try:
        return json.loads(body)
    except ValueError as exc:
        raise MalformedPayload(f"the body is not valid JSON ({exc})") from exc


def _answer(status: int, body: dict):
    return jsonify(body), status
