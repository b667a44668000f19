"""The intake stream in Redis. One round trip puts a delivery on it: dedupe the delivery, give
each push its build id (a new one, or the id of the build its commit already has, see
buildkeys), and append it to the stream the recorder writes to the database. The Git host is
answered from what this returns."""

from __future__ import annotations

import json

from redis import Redis
from redis.commands.core import Script
from redis.exceptions import RedisError

from builder.buildkeys import REMEMBER_SECONDS, redis_key
from record.models import new_build_id, utcnow

STREAM = "lockmaster:intake"
GROUP = "recorders"
# A delivery id is remembered (redeliveries answer as the first time) as long as a commit's
# build id is offered: REMEMBER_SECONDS.
_DELIVERY_PREFIX = "lockmaster:delivery:"

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
_ADMIT_SCRIPT = Script(None, _ADMIT.encode())


class IntakeUnavailable(Exception):
    """Redis did not take the delivery; nothing was kept, so a redelivery will build."""


def append(redis: Redis, meta: dict, body: bytes | None, dedupe_key: str | None,
           build_keys: list[str], answer_prefix: str) -> tuple[bool, str]:
    """Append one delivery to the intake stream (unless its dedupe key was seen): returns
    (True, "id:n,id:j,…") with one build id per build key, n = new and j = joined, or (False,
    the stored answer of the first delivery with that key)."""
    meta = {**meta, "received_at": utcnow().isoformat()}
    keys = [STREAM, _DELIVERY_PREFIX + dedupe_key if dedupe_key else "",
            *(redis_key(key) for key in build_keys)]
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
