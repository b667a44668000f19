"""Registry tokens while Redis is away: pulls go on, answered from the database alone."""

from __future__ import annotations

import logging

from redis.exceptions import RedisError

from bootstrap import Runtime
from record.audit import audit
from registry import tokenaudit, tokenrequest
from registry.signer import current
from registry.tokenrequest import WRONG, Answer, basic, outcome_of, unauthorized
from registry.tokenservice import ANONYMOUS, decide, identify, requested, sign

log = logging.getLogger(__name__)


def answer(runtime: Runtime, server_key: bytes, scopes: list[str], service: str,
           authorization: str | None, address: str, request_id: str | None = None) -> Answer:
    """The token request's answer: from Redis as always, or from the database while Redis is
    away (what both the token endpoint and its HEAD view answer)."""
    try:
        return tokenrequest.answer(runtime, server_key, scopes, service, authorization, address)
    except RedisError:
        log.warning("Redis is away: registry tokens come from the database, unthrottled",
                    extra={"request_id": request_id} if request_id else None)
        return answer_from_database(runtime, scopes, service, authorization)


def answer_from_database(runtime: Runtime, scopes: list[str], service: str,
                         authorization: str | None) -> Answer:
    """The answer while Redis is away: pulls go on, each credential checked in the database
    (a password hashed every time, nothing throttled) and audited there one by one."""
    registry = runtime.settings.registry
    if service != registry.service:
        return Answer(400, {"error": f"this token service serves '{registry.service}', "
                                     f"not '{service}'"}, outcome="bad-request")
    wanted = requested(scopes)
    username, password = basic(authorization) if authorization else ("", "")
    principal = ANONYMOUS if not authorization else \
        (identify(runtime.db, username, password) if username and password else None)
    asked = [str(s) for s in wanted]
    if principal is None:
        audit(runtime.db, tokenaudit.ACTION, username or "?", " ".join(asked) or None,
              outcome="denied", detail=WRONG, asked=asked, granted=[])
        return unauthorized(WRONG, 401)
    granted = decide(principal, wanted, runtime.settings)
    outcome, given = outcome_of(wanted, granted), [str(s) for s in granted if s.actions]
    audit(runtime.db, tokenaudit.ACTION, principal.name or "anonymous", " ".join(asked) or None,
          outcome=outcome, asked=asked, granted=given)
    body = sign(current(runtime.settings.data_dir), principal.name or "", service, granted,
                registry.token_seconds)
    return Answer(200, body, outcome=outcome)
