"""The watchdog beside a running build: heartbeat, cancel requests, timeout, ref lock."""

from __future__ import annotations

import contextlib
import logging
import threading
import time
import uuid
from collections.abc import Callable

from redis import Redis
from redis.exceptions import LockError, RedisError
from redis.lock import Lock

from record.db import Database
from record.models import ROW_ONLY, Build

HEARTBEAT_TTL_SECONDS = 10
log = logging.getLogger(__name__)
TICK_SECONDS = 1.0
REF_LOCK_TTL_SECONDS = 15


def heartbeat_key(build_id: str) -> str:
    """Redis key that exists while a worker is alive and working on the build."""
    return f"lockmaster:heartbeat:{build_id}"


def containers_key(build_id: str) -> str:
    """Redis set of the containers the engine started for the build."""
    return f"lockmaster:containers:{build_id}"


def ref_lock(redis: Redis, repository: str, ref: str) -> Lock:
    """The lock that lets one build at a time run per (repository, ref)."""
    return redis.lock(f"lockmaster:ref-lock:{repository}:{ref}", timeout=REF_LOCK_TTL_SECONDS,
                      thread_local=False)


def release_ref_lock(redis: Redis, repository: str, ref: str, build_id: str) -> None:
    """Let go of the ref lock if this build (whose worker is gone) still holds it."""
    lock = ref_lock(redis, repository, ref)
    lock.local.token = build_id.encode()
    with contextlib.suppress(LockError):
        lock.release()


class Watchdog:
    """Ticks beside the build: keeps the heartbeat and the ref lock, and stops the build on
    a cancel request or when its time is up. `reason` says why it stopped, if it did."""

    def __init__(self, redis: Redis, db: Database, build_id: str):
        self.redis, self.db, self.build_id = redis, db, build_id
        self.token = uuid.uuid4().hex
        self.reason: str | None = None
        self.cancelled = False
        self.deadline: float | None = None
        self.timeout: int | None = None
        self.lock: Lock | None = None
        self.on_stop: Callable[[], None] = lambda: None
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True,
                                        name=f"watchdog-{build_id}")

    def claim(self) -> bool:
        """Take the build for this worker; False if a live worker already has it."""
        return bool(self.redis.set(heartbeat_key(self.build_id), self.token, nx=True,
                                   ex=HEARTBEAT_TTL_SECONDS))

    def start(self, timeout: int) -> None:
        """Start ticking; the build may run `timeout` seconds once its clock starts."""
        self.timeout = timeout
        self._thread.start()

    def start_clock(self) -> None:
        """The build really starts now (after waiting for its ref): its timeout counts."""
        self.deadline = time.monotonic() + self.timeout

    def close(self) -> None:
        """Stop ticking and let go of the heartbeat and the ref lock."""
        self._done.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)
        try:
            if self.lock is not None and self.lock.owned():
                self.lock.release()
            self.redis.delete(heartbeat_key(self.build_id))
        except RedisError:
            pass  # both expire by themselves

    def _loop(self) -> None:
        while not self._done.wait(TICK_SECONDS):
            try:
                self._tick()
            except Exception:  # a hiccup of Redis or the database: try again next tick
                log.exception("watchdog of build %s", self.build_id)

    def _tick(self) -> None:
        self.redis.set(heartbeat_key(self.build_id), self.token, ex=HEARTBEAT_TTL_SECONDS)
        if self.lock is not None and self.lock.owned():
            self.lock.extend(REF_LOCK_TTL_SECONDS, replace_ttl=True)
        if self.reason is None and self._must_stop():
            self.on_stop()

    def _must_stop(self, build: Build | None = None) -> bool:
        """Record why the build must stop (cancel requested, time up), if it must; `build`
        is its row if the caller has just read it."""
        if build is None:
            with self.db.session() as session:
                build = session.get(Build, self.build_id, options=[ROW_ONLY])
        if build is not None and build.cancel_requested_at is not None:
            self.reason, self.cancelled = "cancelled", True
        elif self.deadline is not None and time.monotonic() > self.deadline:
            self.reason = f"timed out after {self.timeout}s (timeout in lockmaster.yml)"
        return self.reason is not None

    def check(self, build: Build | None = None) -> None:
        """Raise BuildInterrupted if the build must stop (called between steps); `build` is
        its row if the caller has just read it (saves reading it again)."""
        if self.reason is not None or self._must_stop(build):
            raise BuildInterrupted(self.reason, self.cancelled)


class BuildInterrupted(Exception):
    """The build was cancelled or ran out of time."""

    def __init__(self, reason: str, cancelled: bool):
        super().__init__(reason)
        self.reason, self.cancelled = reason, cancelled
