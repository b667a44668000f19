"""API tokens: created once, stored hashed, checked by `require_token(scope)`."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from functools import wraps

from flask import g, jsonify, request
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from auth.roles import TOKEN_SCOPES, scope_covers
from bootstrap import current_runtime
from record.accounts import ApiToken, User
from record.db import Database
from record.models import utcnow

PREFIX = "lm_"


class TokenError(Exception):
    """A token command that cannot be done; the message says why."""


def hash_token(token: str) -> str:
    """What is stored of a token."""
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(db: Database, name: str, scope: str, owner: str) -> str:
    """Create a token acting as owner within scope; returns the token, shown once."""
    if scope not in TOKEN_SCOPES:
        raise TokenError(f"unknown scope '{scope}'; use one of {', '.join(TOKEN_SCOPES)}")
    token = PREFIX + secrets.token_urlsafe(32)
    with db.session() as session:
        user = session.scalar(select(User).where(User.username == owner))
        if user is None:
            raise TokenError(f"no user named '{owner}'; see `lockmaster users list`")
        session.add(ApiToken(name=name, token_hash=hash_token(token), scope=scope,
                             user_id=user.id))
        try:
            session.flush()
        except IntegrityError as exc:
            raise TokenError(f"a token named '{name}' already exists") from exc
    return token


def all_tokens(db: Database) -> list[ApiToken]:
    """Every token with its owner, oldest first (revoked ones too)."""
    with db.session() as session:
        return list(session.scalars(select(ApiToken).order_by(ApiToken.id)))


def revoke_token(db: Database, name: str) -> None:
    """Revoke a token by name; it stops working at once."""
    with db.session() as session:
        row = session.scalar(select(ApiToken).where(ApiToken.name == name))
        if row is None:
            raise TokenError(f"no token named '{name}'")
        row.revoked_at = row.revoked_at or utcnow()


class TokenRefused(Exception):
    """A request whose token does not let it through; status is 401 or 403."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


def token_user(db: Database, token: str, scope: str) -> User:
    """The owner of a live token that grants scope; TokenRefused (401 unknown or revoked,
    403 too small a scope) otherwise."""
    return token_grant(db, token, scope)[0]


def token_grant(db: Database, token: str, scope: str) -> tuple[User, str]:
    """The owner and the scope of a live token that grants scope; TokenRefused otherwise."""
    with db.session() as session:
        row = session.scalar(select(ApiToken).where(ApiToken.token_hash == hash_token(token)))
        if row is None or row.revoked_at is not None:
            raise TokenRefused(401, "this token is unknown or revoked; create a new one with "
                                    "`lockmaster tokens create NAME --scope SCOPE`")
        if not scope_covers(row.scope, scope):
            raise TokenRefused(403, f"this token has scope '{row.scope}' but this needs "
                                    f"'{scope}'; create one with `lockmaster tokens create "
                                    f"NAME --scope {scope} --user {row.user.username}`")
        row.last_used_at = utcnow()
        return row.user, row.scope


def bearer_user(scope: str) -> User:
    """The user of the request's `Authorization: Bearer` token granting scope, or
    TokenRefused; g.user and g.token_scope say who asks and with what."""
    header = request.headers.get("Authorization", "")
    token = header.removeprefix("Bearer ").strip() if header.startswith("Bearer ") else ""
    if not token:
        raise TokenRefused(401, f"this needs an API token with scope '{scope}' in "
                                "'Authorization: Bearer <token>' (see `lockmaster tokens "
                                "create`)")
    g.user, g.token_scope = token_grant(current_runtime().db, token, scope)
    return g.user


def require_token(scope: str) -> Callable:
    """Decorate a view: it needs `Authorization: Bearer <token>` granting scope; sets g.user."""

    def decorate(view: Callable) -> Callable:
        @wraps(view)
        def guarded(*args, **kwargs):
            try:
                g.user = bearer_user(scope)
            except TokenRefused as exc:
                return jsonify({"error": str(exc)}), exc.status
            return view(*args, **kwargs)

        return guarded

    return decorate
