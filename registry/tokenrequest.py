"""One token request from credentials to answer. A repeated valid credential costs Redis
round trips and a signature: no database, no password hash (checks are remembered for a
minute), and the same grant is handed out again for up to REUSE_SECONDS."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import time
from dataclasses import dataclass, field

from auth import credentialcache, pairthrottle
from bootstrap import Runtime
from registry import tokenaudit
from registry.policy import Principal, Scope
from registry.signer import current
from registry.tokenservice import (
    ANONYMOUS,
    decide,
    from_remembered,
    identify,
    remembered_form,
    requested,
    sign,
)

REUSE_SECONDS = 5
MAX_NAME, MAX_SECRET = 200, 1024  # longer credentials are wrong without being checked
WRONG = "wrong username, password or token"
_ISSUED = "lockmaster:token-issued"


@dataclass
class Answer:
    """Status, JSON body and extra headers of a token response."""

    status: int
    body: dict
    headers: dict = field(default_factory=dict)
    outcome: str = "denied"


def answer(runtime: Runtime, server_key: bytes, scopes: list[str], service: str,
           authorization: str | None, address: str) -> Answer:
    """The answer to GET /auth/token from this client address."""
    registry = runtime.settings.registry
    if service != registry.service:
        return Answer(400, {"error": f"this token service serves '{registry.service}', "
                                     f"not '{service}'"}, outcome="bad-request")
    wanted = requested(scopes)
    asked = [str(s) for s in wanted]
    redis = runtime.redis
    if not authorization:
        return _grant(runtime, ANONYMOUS, wanted, service, "anonymous", "-", None)
    username, password = basic(authorization)
    account = credentialcache.account(username, password)
    wait, failures = pairthrottle.blocked_for(redis, account, address)
    if wait:
        tokenaudit.record(redis, username or "?", "throttled", asked, [],
                          detail=f"too many wrong credentials from {address}")
        throttled = _unauthorized(f"too many wrong credentials from this address; try again "
                                  f"in {wait} s", 429, {"Retry-After": str(wait)})
        throttled.outcome = "throttled"
        return throttled
    principal, generation = _check(runtime, server_key, username, password)
    if principal is None:
        if pairthrottle.failed(redis, account, address):
            credentialcache.bump(redis, account)  # a lockout forgets remembered checks too
        tokenaudit.record(redis, username or "?", "denied", asked, [], detail=WRONG)
        return _unauthorized(WRONG, 401)
    if failures:
        pairthrottle.succeeded(redis, account, address)
    used = account if account.startswith(("robot:", "token:")) else None
    return _grant(runtime, principal, wanted, service, account, generation, used)


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


def _check(runtime: Runtime, server_key: bytes, username: str,
           password: str) -> tuple[Principal | None, str]:
    if not username or not password:
        return None, ""
    _account, generation, key = credentialcache.slot(runtime.redis, server_key, username,
                                                      password)
    form = credentialcache.remembered(
        runtime.redis, key,
        lambda: remembered_form(identify(runtime.db, username, password)))
    return from_remembered(form), generation


def _grant(runtime: Runtime, principal: Principal, wanted: list[Scope], service: str,
           account: str, generation: str, used: str | None) -> Answer:
    settings = runtime.settings
    granted = decide(principal, wanted, settings)
    outcome = _outcome(wanted, granted)
    given = [str(s) for s in granted if s.actions]
    tokenaudit.record(runtime.redis, principal.name or "anonymous", outcome,
                      [str(s) for s in wanted], given, used=used)
    body = _issued(runtime, principal, service, granted, f"{account}:{generation}")
    return Answer(200, body, outcome=outcome)


def _issued(runtime: Runtime, principal: Principal, service: str, granted: list[Scope],
            holder: str) -> dict:
    """A token for this grant: one issued less than REUSE_SECONDS ago to the same account and
    credential generation (so never after a revoke), else a new one."""
    redis, seconds = runtime.redis, runtime.settings.registry.token_seconds
    signer = current(runtime.settings.data_dir)
    grant = hashlib.sha256(json.dumps([holder, signer.fingerprint, service, principal.name,
                                       sorted(map(str, granted))]).encode()).hexdigest()
    key = f"{_ISSUED}:{grant}"
    known = redis.get(key)
    now = time.time()
    if known is not None:
        body = json.loads(known)
        expires = body.pop("_expires")
        return {**body, "expires_in": max(1, int(expires - now))}
    body = sign(signer, principal.name or "", service, granted, seconds, now=now)
    redis.set(key, json.dumps({**body, "_expires": int(now) + seconds}), ex=REUSE_SECONDS)
    return body


def _unauthorized(message: str, status: int, headers: dict | None = None) -> Answer:
    return Answer(status, {"errors": [{"code": "UNAUTHORIZED", "message": message}]},
                  {"WWW-Authenticate": 'Basic realm="Lockmaster registry"', **(headers or {})})


def _outcome(wanted: list[Scope], granted: list[Scope]) -> str:
    asked = sum(len(s.actions) for s in wanted)
    given = sum(len(s.actions) for s in granted)
    return "ok" if given == asked else ("refused" if given == 0 else "partial")
