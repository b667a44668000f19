"""Admitting a delivery in one Redis round trip: dedupe it, give each push its build id (a new
one, or the id of the build its commit already has), and append it to the intake stream that
the recorder writes to the database. The Git host is answered from what this returns."""

from __future__ import annotations

import contextlib
import json

from redis import Redis
from redis.commands.core import Script
from redis.exceptions import RedisError

from lineage.models import new_build_id, utcnow

STREAM = "lockmaster:intake"
GROUP = "recorders"
# How long a delivery id is remembered (redeliveries answer as the first time), and how long a
# commit's build id is offered to new pushes of the same commit and settings after its last one.
REMEMBER_SECONDS = 30 * 24 * 3600
_DELIVERY_PREFIX = "lockmaster:delivery:"
_BUILD_PREFIX = "lockmaster:build-key:"

# KEYS: stream, delivery key ("" if none), build keys...; ARGV: ttl, meta, body, stored answer
# prefix, then one candidate id per build key. Returns {1, "id:n,id:j"} or {0, stored answer}.
_ADMIT = """
if KEYS[2] ~= "" then
  local previous = redis.call("GET", KEYS[2])
  if previous then return {0, previous} end
end
local ttl = tonumber(ARGV[1])
local builds = {}
for i = 3, #KEYS do
  local current = redis.call("GET", KEYS[i])
  if current then
    redis.call("EXPIRE", KEYS[i], ttl)
    builds[#builds + 1] = current .. ":j"
  else
    redis.call("SET", KEYS[i], ARGV[2 + i], "EX", ttl)
    builds[#builds + 1] = ARGV[2 + i] .. ":n"
  end
end
local summary = table.concat(builds, ",")
redis.call("XADD", KEYS[1], "*", "meta", ARGV[2], "body", ARGV[3], "builds", summary)
if KEYS[2] ~= "" then
  redis.call("SET", KEYS[2], ARGV[4] .. summary, "EX", ttl)
end
return {1, summary}
"""
# Forget a commit's build id only if it still names this build (a newer one may have taken it).
_FORGET = """
if redis.call("GET", KEYS[1]) == ARGV[1] then return redis.call("DEL", KEYS[1]) end
return 0
"""
_ADMIT_SCRIPT, _FORGET_SCRIPT = Script(None, _ADMIT.encode()), Script(None, _FORGET.encode())


class IntakeUnavailable(Exception):
    """Redis did not take the delivery; nothing was kept, so a redelivery will build."""


def admit(redis: Redis, meta: dict, body: bytes | None, dedupe_key: str | None,
          build_keys: list[str], answer_prefix: str) -> tuple[bool, str]:
    """Append one delivery to the intake stream (unless its dedupe key was seen): returns
    (True, "id:n,id:j,…") with one build id per build key, n = new and j = joined, or (False,
    the stored answer of the first delivery with that key)."""
    meta = {**meta, "received_at": utcnow().isoformat()}
    keys = [STREAM, _DELIVERY_PREFIX + dedupe_key if dedupe_key else "",
            *(_BUILD_PREFIX + key for key in build_keys)]
    args = [REMEMBER_SECONDS, json.dumps(meta, separators=(",", ":")), body or b"",
            answer_prefix, *(new_build_id() for _ in build_keys)]
    try:
        fresh, text = _ADMIT_SCRIPT(keys=keys, args=args, client=redis)
    except RedisError as exc:
        raise IntakeUnavailable(str(exc)) from exc
    return bool(fresh), text.decode()


def parse_builds(summary: str) -> list[tuple[str, bool]]:
    """The (build id, is new) pairs of an admission summary."""
    return [(item[:-2], item.endswith(":n")) for item in summary.split(",") if item]


def offer_build(redis: Redis, build_key: str, build_id: str) -> None:
    """Make build_id the build new pushes of this commit and settings join."""
    redis.set(_BUILD_PREFIX + build_key, build_id, ex=REMEMBER_SECONDS)


def forget_build(redis: Redis, build_key: str | None, build_id: str) -> None:
    """A build that ended without an image is not joined again: the next push builds afresh.
    Best effort: if Redis does not answer, the recorder notices the ended build instead."""
    if not build_key:
        return
    with contextlib.suppress(RedisError):
        _FORGET_SCRIPT(keys=[_BUILD_PREFIX + build_key], args=[build_id], client=redis)
