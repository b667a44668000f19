"""The registry's token service: who is asking, what they get, and the signed JWT."""

from __future__ import annotations

import base64
import time
import uuid

import jwt
from sqlalchemy import select

from auth.tokens import PREFIX as API_TOKEN_PREFIX
from auth.tokens import hash_token, token_user
from auth.users import authenticate
from config import Settings
from lineage.db import Database
from lineage.models import utcnow
from registry.models import Robot
from registry.policy import Layout, Principal, Scope, grant, parse_scope
from registry.signing import SigningKey

ISSUER = "lockmaster"
ROBOT_PREFIX = "lmr_"
ANONYMOUS = Principal(None, "anonymous")


def identify(db: Database, username: str, password: str) -> Principal | None:
    """The principal behind HTTP Basic credentials (password, API or robot token), or None."""
    if password.startswith(ROBOT_PREFIX):
        with db.session() as session:
            robot = session.scalar(select(Robot).where(Robot.token_hash == hash_token(password)))
            if robot is None or robot.revoked_at is not None or robot.name != username:
                return None
            robot.last_used_at = utcnow()
            return Principal(robot.name, "robot", purpose=robot.purpose,
                             patterns=tuple(robot.pull))
    user = token_user(db, password, "read") if password.startswith(API_TOKEN_PREFIX) else None
    user = user or authenticate(db, username, password)
    if user is None:
        return None
    return Principal(user.username, "user", role=user.role,
                     patterns=tuple(user.repositories or ()))


def layout(settings: Settings) -> Layout:
    """The registry's repository layout as the policy sees it."""
    registry = settings.registry
    environments = {"production": registry.production, **registry.environments}
    environments.pop("staging", None)
    return Layout(staging=registry.staging, environments=environments,
                  images={r.image: (r.name, r.team) for r in settings.repositories},
                  anonymous_pull=registry.anonymous_pull)


def requested(scopes: list[str]) -> list[Scope]:
    """The well-formed scopes of a token request (space-separated values allowed)."""
    parsed = (parse_scope(part) for value in scopes for part in value.split())
    return [scope for scope in parsed if scope is not None]


def decide(principal: Principal, wanted: list[Scope], settings: Settings) -> list[Scope]:
    """What policy grants of each wanted scope."""
    where = layout(settings)
    return [grant(principal, scope, where) for scope in wanted]


def sign(key: SigningKey, subject: str, service: str, granted: list[Scope], seconds: int,
         now: float | None = None) -> dict:
    """The token response: an RS256 JWT carrying the certificate in x5c."""
    issued = int(now if now is not None else time.time())
    claims = {"iss": ISSUER, "sub": subject, "aud": service, "iat": issued, "nbf": issued - 5,
              "exp": issued + seconds, "jti": uuid.uuid4().hex,
              "access": [{"type": s.type, "name": s.name, "actions": list(s.actions)}
                         for s in granted if s.actions]}
    token = jwt.encode(claims, key.key_pem, algorithm="RS256",
                       headers={"x5c": [base64.b64encode(key.cert_der).decode()]})
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(issued))
    return {"token": token, "access_token": token, "expires_in": seconds, "issued_at": stamp}
