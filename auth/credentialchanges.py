"""After a password, role, token or robot changes in the database, forget the checks the token
service remembered for it, so the change holds at once."""

from __future__ import annotations

from redis import Redis
from redis.exceptions import RedisError
from sqlalchemy import select

from auth import credentialcache
from record.accounts import ApiToken, User
from record.db import Database


class NotForgotten(Exception):
    """Redis did not answer: remembered checks of the account may last up to a minute."""


def user_accounts(db: Database, username: str) -> list[str]:
    """A person's account and those of their API tokens (which act with the person's role)."""
    with db.session() as session:
        hashes = session.scalars(select(ApiToken.token_hash).join(User)
                                 .where(User.username == username))
        return [f"user:{username}", *(f"token:{h}" for h in hashes)]


def token_accounts(db: Database, name: str) -> list[str]:
    """The account of the API token called name."""
    with db.session() as session:
        hashes = session.scalars(select(ApiToken.token_hash).where(ApiToken.name == name))
        return [f"token:{h}" for h in hashes]


def forget(redis_url: str | Redis, accounts: list[str]) -> None:
    """Forget the accounts' remembered checks; NotForgotten says what to do if Redis is down."""
    redis = Redis.from_url(redis_url, socket_timeout=5) if isinstance(redis_url, str) \
        else redis_url
    try:
        credentialcache.bump(redis, *accounts)
    except RedisError as exc:
        raise NotForgotten(
            f"the change is saved, but Redis did not answer ({exc}): the token service may "
            f"accept the old credentials for up to {credentialcache.REMEMBER_SECONDS} s; "
            "run the command again once Redis is up") from exc
