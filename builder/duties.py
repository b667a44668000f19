"""A worker's periodic duties: small tasks that must run every so often whether the worker is
idle or busy. RQ's own maintenance runs only between two dequeues, and an idle worker waits on
its queues for minutes, so the duties tick in a thread of their own."""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from redis import Redis
from redis.exceptions import RedisError

TICK_SECONDS = 1.0
log = logging.getLogger(__name__)


@dataclass
class Duty:
    """One task, run every `every` seconds; a shared one by one worker of all per interval."""

    name: str
    every: float
    run: Callable[[], object]
    shared: bool
    due: float = 0.0


class Duties:
    """The duties of one worker process and the thread that runs them."""

    def __init__(self, redis: Redis):
        self.redis = redis
        self.duties: list[Duty] = []
        self.token = uuid.uuid4().hex
        self._done = threading.Event()
        self._thread: threading.Thread | None = None

    def register(self, name: str, every_seconds: float, run: Callable[[], object],
                 shared: bool = False) -> None:
        """Run `run()` every `every_seconds` from the worker's start; `shared`: once per
        interval across all the installation's workers (whichever comes first)."""
        self.duties.append(Duty(name, every_seconds, run, shared))

    def start(self) -> None:
        """Start ticking in a daemon thread (the first round runs at once)."""
        self._thread = threading.Thread(target=self._loop, daemon=True, name="duties")
        self._thread.start()

    @property
    def running(self) -> bool:
        """True while the duties tick."""
        return self._thread is not None and self._thread.is_alive()

    def stop(self) -> None:
        """Stop ticking (a duty that is running finishes first, for at most a few seconds)."""
        self._done.set()
        if self._thread is not None and self._thread.is_alive():
            self._thread.join(timeout=5)

    def run_due(self) -> None:
        """Run every duty whose time has come; one that fails is logged and runs next time."""
        for duty in self.duties:
            now = time.monotonic()
            if now < duty.due:
                continue
            duty.due = now + duty.every
            if duty.shared and not self._claim(duty):
                continue
            try:
                duty.run()
            except Exception:
                log.exception("periodic duty '%s' failed; it runs again in %ss", duty.name,
                              duty.every)

    def _claim(self, duty: Duty) -> bool:
        """This worker's turn at a shared duty for this interval, if no other took it."""
        key = f"lockmaster:duty:{duty.name}"
        try:
            return bool(self.redis.set(key, self.token, nx=True,
                                       px=max(1, int(duty.every * 1000) - 500)))
        except RedisError:
            log.warning("periodic duty '%s': Redis does not answer; trying later", duty.name)
            return False

    def _loop(self) -> None:
        while not self._done.is_set():
            self.run_due()
            self._done.wait(TICK_SECONDS)
