"""Login throttling: after repeated failures a name (or address) waits before trying again."""

from __future__ import annotations

from redis import Redis

MAX_FAILURES = 5
WINDOW_SECONDS = 15 * 60


def _key(kind: str, value: str) -> str:
    return f"lockmaster:login-failures:{kind}:{value.lower()}"


def blocked_for(redis: Redis, username: str, address: str) -> int:
    """Seconds until this name and address may try again (0 if they may now)."""
    keys = [_key("user", username), _key("addr", address)]
    waits = [redis.ttl(k) for k, n in zip(keys, redis.mget(keys), strict=True)
             if n is not None and int(n) >= MAX_FAILURES]
    return max(waits, default=0)


def failed(redis: Redis, username: str, address: str) -> None:
    """Count one failed login against the name and the address."""
    for key in (_key("user", username), _key("addr", address)):
        count = redis.incr(key)
        if count == 1 or count == MAX_FAILURES:
            redis.expire(key, WINDOW_SECONDS)


def succeeded(redis: Redis, username: str) -> None:
    """Forget the name's failures after a successful login."""
    redis.delete(_key("user", username))
