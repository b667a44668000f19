"""The registry's token service: who is asking, what they get, and the signed JWT."""

from __future__ import annotations

import time
import uuid
from dataclasses import asdict

import jwt
from sqlalchemy import select

from auth.credentialcache import ROBOT_PREFIX
from auth.tokens import PREFIX as API_TOKEN_PREFIX
from auth.tokens import hash_token
from auth.users import authenticate
from config import Settings
from ops import metrics
from record.accounts import ApiToken
from record.db import Database
from record.registry_access import Robot
from registry.policy import Layout, Principal, Scope, grant, parse_scope
from registry.signer import Signer, load
from registry.signing import SigningKey

ISSUER = "lockmaster"
ANONYMOUS = Principal(None, "anonymous")


def identify(db: Database, username: str, password: str) -> Principal | None:
    """The principal behind HTTP Basic credentials (password, API or robot token), or None.
    Reads only: when a robot or token was last used is counted in Redis by the caller."""
    if password.startswith(ROBOT_PREFIX):
        with db.session() as session:
            robot = session.scalar(select(Robot).where(Robot.token_hash == hash_token(password)))
            if robot is None or robot.revoked_at is not None or robot.name != username:
                return None
            return Principal(robot.name, "robot", purpose=robot.purpose,
                             patterns=tuple(robot.pull))
    if password.startswith(API_TOKEN_PREFIX):
        with db.session() as session:
            row = session.scalar(select(ApiToken).where(
                ApiToken.token_hash == hash_token(password)))
            user = row.user if row is not None and row.revoked_at is None else None
    else:
        metrics.password_hashes.inc()
        user = authenticate(db, username, password)
    if user is None:
        return None
    return Principal(user.username, "user", role=user.role,
                     patterns=tuple(user.repositories or ()))


def remembered_form(principal: Principal | None) -> dict | None:
    """A principal as the credential cache keeps it."""
    return asdict(principal) if principal is not None else None


def from_remembered(form: dict | None) -> Principal | None:
    """A principal back from the credential cache."""
    if form is None:
        return None
    return Principal(**{**form, "patterns": tuple(form.get("patterns") or ())})


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


def sign(key: Signer | SigningKey, subject: str, service: str, granted: list[Scope],
         seconds: int, now: float | None = None) -> dict:
    """The token response: a JWT (ES256, or RS256 for an older RSA key) carrying the
    certificate in x5c."""
    signer = key if isinstance(key, Signer) else load(key)
    issued = int(now if now is not None else time.time())
    claims = {"iss": ISSUER, "sub": subject, "aud": service, "iat": issued, "nbf": issued - 5,
              "exp": issued + seconds, "jti": uuid.uuid4().hex,
              "access": [{"type": s.type, "name": s.name, "actions": list(s.actions)}
                         for s in granted if s.actions]}
    token = jwt.encode(claims, signer.key, algorithm=signer.algorithm,
                       headers={"x5c": list(signer.x5c)})
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(issued))
    return {"token": token, "access_token": token, "expires_in": seconds, "issued_at": stamp}
