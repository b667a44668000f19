"""Credential checks remembered for a minute in Redis, forgotten at once when an account's
credentials change (password, revoke, role, lockout), with one check in flight per credential."""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Callable

from redis import Redis

from auth.tokens import PREFIX as API_TOKEN_PREFIX
from auth.tokens import hash_token

REMEMBER_SECONDS = 60
# A refusal is remembered briefly: enough to answer a burst with one hash, short enough that a
# user created a moment later is not refused for long.
REFUSAL_SECONDS = 5
WAIT_SECONDS = 5.0
ROBOT_PREFIX = "lmr_"
_KEYS = "lockmaster:credentials"


def account(username: str, password: str) -> str:
    """The account whose credential generation a check depends on: an API token is its own
    account (any username goes with it), a robot or a person is named by the username."""
    if password.startswith(ROBOT_PREFIX):
        return f"robot:{username}"
    if password.startswith(API_TOKEN_PREFIX):
        return f"token:{hash_token(password)}"
    return f"user:{username}"


def generation(redis: Redis, name: str) -> str:
    """The account's current credential generation (a random value, drawn when missing, so a
    generation lost from Redis never brings an old one back)."""
    key = f"{_KEYS}:generation:{name}"
    value = redis.get(key)
    if value is None:
        redis.set(key, secrets.token_hex(8), nx=True)
        value = redis.get(key)
    return value.decode()


def bump(redis: Redis, *names: str) -> None:
    """Forget every remembered check of these accounts (call after the database commit)."""
    if names:
        redis.delete(*(f"{_KEYS}:generation:{name}" for name in names))


def slot(redis: Redis, server_key: bytes, username: str, password: str) \
        -> tuple[str, str, str]:
    """(account, generation, Redis key) of this credential's remembered check: the key is an
    HMAC of the server key, the credentials and the account's generation, so Redis holds
    nothing a credential can be read or tried from."""
    name = account(username, password)
    current = generation(redis, name)
    message = "\0".join((name, username, password, current)).encode()
    digest = hmac.new(server_key, message, hashlib.sha256).hexdigest()
    return name, current, f"{_KEYS}:check:{digest}"


def remembered(redis: Redis, key: str, check: Callable[[], dict | None],
               wait: float = WAIT_SECONDS) -> dict | None:
    """The outcome of check() for this slot: remembered, computed here, or awaited from the
    one process computing it now."""
    found = redis.get(key)
    if found is not None:
        return json.loads(found)
    if redis.set(f"{key}:computing", "1", nx=True, ex=int(wait * 2)):
        try:
            outcome = check()
            redis.set(key, json.dumps(outcome),
                      ex=REMEMBER_SECONDS if outcome is not None else REFUSAL_SECONDS)
            return outcome
        finally:
            redis.delete(f"{key}:computing")
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        time.sleep(0.005)
        found = redis.get(key)
        if found is not None:
            return json.loads(found)
        if not redis.exists(f"{key}:computing"):
            break
    return check()  # the check in flight gave up: do it here
