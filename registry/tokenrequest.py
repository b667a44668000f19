"""One token request from credentials to answer. A valid credential seen in the last minute
costs two Redis round trips and at most one signature: no database, no password hash, and the
same grant is handed out again for up to REUSE_SECONDS (never after a revoke: the account's
generation is part of the key)."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import time
from dataclasses import dataclass, field

from auth import credentialcache, pairthrottle
from bootstrap import Runtime
from registry import tokenaudit, tokenstate
from registry.policy import Principal, Scope
from registry.signer import Signer, current
from registry.tokenservice import (
    ANONYMOUS,
    decide,
    from_remembered,
    identify,
    remembered_form,
    requested,
    sign,
)
from registry.tokentally import REUSE_SECONDS, remembered_token, tally

MAX_NAME, MAX_SECRET = 200, 1024  # longer credentials are wrong without being checked
WRONG = "wrong username, password or token"
_ISSUED = "lockmaster:token-issued"


@dataclass
class Answer:
    """Status, JSON body and extra headers of a token response, and its outcome."""

    status: int
    body: dict
    headers: dict = field(default_factory=dict)
    outcome: str = "denied"


@dataclass(frozen=True)
class Asking:
    """Who asks for what: the request's parts every step needs."""

    username: str
    password: str
    account: str
    address: str
    service: str
    wanted: list[Scope]

    @property
    def asked(self) -> list[str]:
        """The wanted scopes as text."""
        return [str(s) for s in self.wanted]


def answer(runtime: Runtime, server_key: bytes, scopes: list[str], service: str,
           authorization: str | None, address: str) -> Answer:
    """The answer to GET /auth/token from this client address."""
    registry = runtime.settings.registry
    if service != registry.service:
        return Answer(400, {"error": f"this token service serves '{registry.service}', "
                                     f"not '{service}'"}, outcome="bad-request")
    wanted = requested(scopes)
    if not authorization:
        return _grant(runtime, ANONYMOUS, wanted, service, None, None)
    username, password = basic(authorization)
    asking = Asking(username, password, credentialcache.account(username, password), address,
                    service, wanted)
    digest = credentialcache.credential_digest(server_key, asking.account, username, password)
    signer = current(runtime.settings.data_dir)
    issued = _ISSUED + ":" + hashlib.sha256(json.dumps(
        [digest, signer.fingerprint, service, sorted(asking.asked)]).encode()).hexdigest()
    seen = tokenstate.look(runtime.redis, asking.account, address, digest, issued)
    if seen.wait:
        return _throttled(runtime, asking, seen.wait)
    principal = _principal(runtime, asking, seen, digest)
    if principal is None:
        return _denied(runtime, asking)
    if seen.failures:
        pairthrottle.succeeded(runtime.redis, asking.account, address)
    used = asking.account if asking.account.startswith(("robot:", "token:")) else None
    return _grant(runtime, principal, wanted, service, used,
                  (f"{issued}:{seen.generation}", seen.issued), signer)


def basic(authorization: str) -> tuple[str, str]:
    """(username, password) of a Basic header; ("", "") when it is not one or is too long."""
    if not authorization.startswith("Basic ") or len(authorization) > 2 * MAX_SECRET:
        return "", ""
    try:
        username, _, password = base64.b64decode(authorization[6:], validate=True) \
            .decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return "", ""
    if len(username) > MAX_NAME or len(password) > MAX_SECRET:
        return "", ""
    return username, password


def _principal(runtime: Runtime, asking: Asking, seen: tokenstate.Seen,
               digest: str) -> Principal | None:
    if not asking.username or not asking.password:
        return None
    form = seen.remembered
    if form is tokenstate.NOT_REMEMBERED:
        form = credentialcache.remembered(
            runtime.redis, seen.check_key(digest),
            lambda: remembered_form(identify(runtime.db, asking.username, asking.password)))
    return from_remembered(form)


def _grant(runtime: Runtime, principal: Principal, wanted: list[Scope], service: str,
           used: str | None, reuse: tuple[str, dict | None] | None,
           signer: Signer | None = None) -> Answer:
    settings = runtime.settings
    granted = decide(principal, wanted, settings)
    outcome = outcome_of(wanted, granted)
    now = time.time()
    if reuse and reuse[1]:
        body = dict(reuse[1])
        body["expires_in"] = max(1, int(body.pop("_expires") - now))
    else:
        body = sign(signer or current(settings.data_dir), principal.name or "", service,
                    granted, settings.registry.token_seconds, now=now)
    fresh = (reuse[0], remembered_token(body, int(now) + settings.registry.token_seconds)) \
        if reuse and not reuse[1] else None
    actor, given = principal.name or "anonymous", [str(s) for s in granted if s.actions]
    if outcome == "ok":
        tally(runtime.redis).add(actor, given, used, now, fresh)
        return Answer(200, body, outcome=outcome)
    with runtime.redis.pipeline(transaction=False) as pipe:
        tokenaudit.count(pipe, actor, outcome, [str(s) for s in wanted], given, used=used,
                         now=now)
        if fresh:
            pipe.set(*fresh, ex=REUSE_SECONDS)
        pipe.execute()
    return Answer(200, body, outcome=outcome)


def _throttled(runtime: Runtime, asking: Asking, wait: int) -> Answer:
    tokenaudit.record(runtime.redis, asking.username or "?", "throttled", asking.asked, [],
                      detail=f"too many wrong credentials from {asking.address}")
    refused = unauthorized(f"too many wrong credentials from this address; try again in "
                            f"{wait} s", 429, {"Retry-After": str(wait)})
    refused.outcome = "throttled"
    return refused


def _denied(runtime: Runtime, asking: Asking) -> Answer:
    if pairthrottle.failed(runtime.redis, asking.account, asking.address):
        credentialcache.bump(runtime.redis, asking.account)  # a lockout forgets checks too
    tokenaudit.record(runtime.redis, asking.username or "?", "denied", asking.asked, [],
                      detail=WRONG)
    return unauthorized(WRONG, 401)


def unauthorized(message: str, status: int, headers: dict | None = None) -> Answer:
    return Answer(status, {"errors": [{"code": "UNAUTHORIZED", "message": message}]},
                  {"WWW-Authenticate": 'Basic realm="Lockmaster registry"', **(headers or {})})


def outcome_of(wanted: list[Scope], granted: list[Scope]) -> str:
    asked = sum(len(s.actions) for s in wanted)
    given = sum(len(s.actions) for s in granted)
    return "ok" if given == asked else ("refused" if given == 0 else "partial")
