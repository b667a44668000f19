"""API tokens: created once, stored hashed, checked by `require_token(scope)`."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from functools import wraps

from flask import g, jsonify, request
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from auth.models import ApiToken, User
from auth.roles import TOKEN_SCOPES, scope_covers
from bootstrap import current_runtime
from lineage.db import Database
from lineage.models import utcnow

PREFIX = "lm_"


class TokenError(Exception):
    """A token command that cannot be done; the message says why."""


def hash_token(token: str) -> str:
    """What is stored of a token."""
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(db: Database, name: str, scope: str, owner: str | None) -> str:
    """Create a token for owner (default: the first admin); returns the token, shown once."""
    if scope not in TOKEN_SCOPES:
        raise TokenError(f"unknown scope '{scope}'; use one of {', '.join(TOKEN_SCOPES)}")
    token = PREFIX + secrets.token_urlsafe(32)
    with db.session() as session:
        query = select(User).where(User.username == owner) if owner else \
            select(User).where(User.role == "admin").order_by(User.id)
        user = session.scalars(query).first()
        if user is None:
            raise TokenError(f"no user named '{owner}'" if owner else
                             "no admin user yet: create one with `lockmaster users add`")
        session.add(ApiToken(name=name, token_hash=hash_token(token), scope=scope,
                             user_id=user.id))
        try:
            session.flush()
        except IntegrityError as exc:
            raise TokenError(f"a token named '{name}' already exists") from exc
    return token


def revoke_token(db: Database, name: str) -> None:
    """Revoke a token by name; it stops working at once."""
    with db.session() as session:
        row = session.scalar(select(ApiToken).where(ApiToken.name == name))
        if row is None:
            raise TokenError(f"no token named '{name}'")
        row.revoked_at = row.revoked_at or utcnow()


def token_user(db: Database, token: str, scope: str) -> User | None:
    """The owner of a live token that grants scope, else None."""
    with db.session() as session:
        row = session.scalar(select(ApiToken).where(ApiToken.token_hash == hash_token(token)))
        if row is None or row.revoked_at is not None or not scope_covers(row.scope, scope):
            return None
        row.last_used_at = utcnow()
        return row.user


def require_token(scope: str) -> Callable:
    """Decorate a view: it needs `Authorization: Bearer <token>` granting scope; sets g.user."""

    def decorate(view: Callable) -> Callable:
        @wraps(view)
        def guarded(*args, **kwargs):
            header = request.headers.get("Authorization", "")
            token = header.removeprefix("Bearer ").strip() if header.startswith("Bearer ") else ""
            user = token_user(current_runtime().db, token, scope) if token else None
            if user is None:
                return jsonify({"error": f"this needs an API token with scope '{scope}' in "
                                         "'Authorization: Bearer <token>' (see `lockmaster "
                                         "tokens create`)"}), 401
            g.user = user
            return view(*args, **kwargs)

        return guarded

    return decorate
