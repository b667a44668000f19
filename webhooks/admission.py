"""Admitting a delivery in one Redis round trip: dedupe it, give each push its build id (a new
one, or the id of the build its commit already has), and append it to the intake stream that
the recorder writes to the database. The Git host is answered from what this returns."""

from __future__ import annotations

import contextlib
import json
import os
import threading
import weakref

from redis import Redis
from redis.commands.core import Script
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import NoScriptError, RedisError
from redis.exceptions import TimeoutError as RedisTimeout

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
        fresh, text = _run_kept(redis, _ADMIT_SCRIPT, keys, args)
    except RedisError as exc:
        raise IntakeUnavailable(str(exc)) from exc
    return bool(fresh), text.decode()


class _KeptConnection(threading.local):
    """One connection per thread (and process) that admissions keep using: redis-py's client
    takes a connection from its pool, wraps the call in retries and instruments it for each
    command, which cost more CPU than the round trip itself, once per webhook request."""

    connection = None
    pid = None

    def take(self, redis: Redis):
        """The kept connection, made from the client's pool settings on first use (and anew
        in a forked child, which must not share its parent's socket)."""
        if self.connection is not None and self.pid == os.getpid() and self._stale():
            self.drop()
        if self.connection is None or self.pid != os.getpid():
            self.connection, self.pid = redis.connection_pool.make_connection(), os.getpid()
        return self.connection

    def _stale(self) -> bool:
        """True if the idle connection has something to read: Redis closed it (a restart, an
        idle timeout), as the pool checks before it hands a connection out."""
        try:
            return self.connection.can_read()
        except (RedisConnectionError, RedisTimeout, OSError):
            return True

    def drop(self) -> None:
        """Close a connection that failed, so the next use connects again."""
        if self.connection is not None and self.pid == os.getpid():
            self.connection.disconnect()
        self.connection = None


_kept: weakref.WeakKeyDictionary[Redis, _KeptConnection] = weakref.WeakKeyDictionary()
_kept_lock = threading.Lock()


def _run_kept(redis: Redis, script: Script, keys: list, args: list):
    """EVALSHA script on this thread's kept connection. A command that could not be sent
    (a connection Redis closed, e.g. after a restart) is sent once more on a new connection;
    one whose answer was lost is not (it may have run), and the caller sees the error. A
    script Redis does not know (after a restart or a flush) is loaded, then run."""
    with _kept_lock:
        kept = _kept.setdefault(redis, _KeptConnection())
    resent = loaded = False
    while True:
        connection = kept.take(redis)
        try:
            connection.send_command("EVALSHA", script.sha, len(keys), *keys, *args)
        except (RedisConnectionError, RedisTimeout):
            kept.drop()
            if resent:
                raise
            resent = True
            continue
        try:
            return connection.read_response()
        except NoScriptError:
            if loaded:
                raise
            loaded = True
            connection.send_command("SCRIPT", "LOAD", script.script)
            connection.read_response()
        except (RedisConnectionError, RedisTimeout):
            kept.drop()
            raise


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
