"""Full grants tallied in the web process and handed to Redis every second by a background
thread, so a token's answer never waits for its own bookkeeping (a process killed with -9
loses at most that second of counts; a graceful stop hands them over)."""

from __future__ import annotations

import atexit
import json
import os
import threading
from collections import Counter

from redis import Redis

from registry import tokenaudit

FLUSH_SECONDS = 1.0
REUSE_SECONDS = 5  # how long a token may be handed out again


class Tally:
    """This process's grant counts, last uses and fresh tokens on their way to one Redis."""

    def __init__(self, redis: Redis) -> None:
        self._lock = threading.Lock()
        self._grants: Counter = Counter()
        self._used: dict[str, int] = {}
        self._issued: dict[str, str] = {}
        self._redis = redis
        self._pid: int | None = None

    def add(self, actor: str, granted: list[str], used: str | None, now: float,
            issued: tuple[str, str] | None = None) -> None:
        """Count one full grant (and remember a freshly signed token for reuse)."""
        with self._lock:
            self._grants[(int(now // 60), actor, tuple(granted))] += 1
            if used:
                self._used[used] = int(now)
            if issued:
                self._issued[issued[0]] = issued[1]
            if self._pid != os.getpid():  # first use in this (possibly forked) process
                self._pid = os.getpid()
                threading.Thread(target=self._run, name="token-tally", daemon=True).start()
                atexit.register(self.flush)

    def flush(self) -> None:
        """Hand everything counted so far to Redis."""
        with self._lock:
            grants, used, issued = self._grants, self._used, self._issued
            self._grants, self._used, self._issued = Counter(), {}, {}
        if not (grants or used or issued):
            return
        with self._redis.pipeline(transaction=False) as pipe:
            by_minute: dict[int, dict] = {}
            for (minute, actor, granted), count in grants.items():
                by_minute.setdefault(minute, {})[(actor, granted)] = count
            for minute, counts in by_minute.items():
                tokenaudit.count_minute(pipe, minute, counts)
            if used:
                tokenaudit.count_used(pipe, used)
            for key, value in issued.items():
                pipe.set(key, value, ex=REUSE_SECONDS)
            pipe.execute()

    def _run(self) -> None:
        stop = threading.Event()
        while not stop.wait(FLUSH_SECONDS):
            try:
                self.flush()
            except Exception:  # Redis away: these counts are lost, the next ones are not
                continue


_tallies: dict[int, Tally] = {}
_tallies_lock = threading.Lock()


def tally(redis: Redis) -> Tally:
    """The tally of this process for this Redis client (one per installation)."""
    found = _tallies.get(id(redis))
    if found is None or found._redis is not redis:
        with _tallies_lock:
            found = _tallies[id(redis)] = Tally(redis)
    return found


def remembered_token(body: dict, expires: int) -> str:
    """What is kept of a fresh token for reuse."""
    return json.dumps({**body, "_expires": expires})
