"""A commit's build in Redis: the build id new pushes of the same commit and settings join.

Webhook intake offers and reads these keys (in its admission script); the builder forgets one
when its build ends without an image, so that the next push builds afresh. Both import this
module rather than each other."""

from __future__ import annotations

import contextlib

from redis import Redis
from redis.commands.core import Script
from redis.exceptions import RedisError

# How long a commit's build id is offered to new pushes after its last one.
REMEMBER_SECONDS = 30 * 24 * 3600
PREFIX = "lockmaster:build-key:"

# Forget a commit's build id only if it still names this build (a newer one may have taken it).
_FORGET = """
if redis.call("GET", KEYS[1]) == ARGV[1] then return redis.call("DEL", KEYS[1]) end
return 0
"""
_FORGET_SCRIPT = Script(None, _FORGET.encode())


def redis_key(build_key: str) -> str:
    """The Redis key that holds the build id of build_key."""
    return PREFIX + build_key


def offer_build(redis: Redis, build_key: str, build_id: str) -> None:
    """Make build_id the build new pushes of this commit and settings join."""
    redis.set(redis_key(build_key), build_id, ex=REMEMBER_SECONDS)


def forget_build(redis: Redis, build_key: str | None, build_id: str) -> None:
    """A build that ended without an image is not joined again: the next push builds afresh.
    Best effort: if Redis does not answer, the recorder notices the ended build instead."""
    if not build_key:
        return
    with contextlib.suppress(RedisError):
        _FORGET_SCRIPT(keys=[redis_key(build_key)], args=[build_id], client=redis)
