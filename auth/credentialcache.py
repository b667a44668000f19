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


def generation_key(name: str) -> str:
    """Where the account's credential generation is kept: a random value, drawn anew when
    missing or expired, so a generation lost from Redis never brings an old one back."""
    return f"{_KEYS}:generation:{name}"


def new_generation() -> str:
    """A fresh generation value."""
    return secrets.token_hex(8)


def bump(redis: Redis, *names: str) -> None:
    """Forget every remembered check of these accounts (call after the database commit)."""
    if names:
        redis.delete(*(generation_key(name) for name in names))


def credential_digest(server_key: bytes, name: str, username: str, password: str) -> str:
    """An HMAC of the server key and the credentials: what Redis holds of them."""
    message = json.dumps([name, username, password]).encode()  # unambiguous, unlike a join
    return hmac.new(server_key, message, hashlib.sha256).hexdigest()


def check_key(digest: str, current_generation: str) -> str:
    """The Redis key of a remembered check: the credentials' HMAC under the account's current
    generation, so bumping the generation forgets it at once."""
    return f"{_KEYS}:check:{digest}:{current_generation}"


def remembered(redis: Redis, key: str, check: Callable[[], dict | None],
               wait: float = WAIT_SECONDS) -> dict | None:
    """The outcome of check() for this key: remembered, computed here, or awaited from the
    one process computing it now."""
    deadline = time.monotonic() + wait
    while True:
        found = redis.get(key)
        if found is not None:
            return json.loads(found)
        if redis.set(f"{key}:computing", "1", nx=True, ex=int(wait * 2)):
            break
        if time.monotonic() > deadline:
            return check()  # the process computing it is stuck: do it here
        time.sleep(0.005)
    try:
        found = redis.get(key)  # finished by another process between our two looks
        if found is not None:
            return json.loads(found)
        outcome = check()
        redis.set(key, json.dumps(outcome),
                  ex=REMEMBER_SECONDS if outcome is not None else REFUSAL_SECONDS)
        return outcome
    finally:
        redis.delete(f"{key}:computing")
