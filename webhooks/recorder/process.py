"""Running the recorder: a loop in a process of its own, which each `lockmaster worker` starts
(at lower CPU priority than the web app's intake) and restarts if it dies."""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable

from redis.exceptions import RedisError, ResponseError

from bootstrap import Runtime
from webhooks import rejections
from webhooks.recorder.write import claim_abandoned, ensure_group, pending, record_new

NICENESS = 10
CLAIM_EVERY_SECONDS = 15
log = logging.getLogger(__name__)


def run_recorder(runtime: Runtime, parent_pid: int | None = None) -> None:
    """Record admitted deliveries until SIGTERM/SIGINT, or until the parent process is gone."""
    stopping = []
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stopping.append(True))
    recorder_loop(runtime, lambda: not stopping and (parent_pid is None
                                                     or os.getppid() == parent_pid))


def recorder_loop(runtime: Runtime, keep_going: Callable[[], bool],
                  block_ms: int = 1000) -> None:
    """Record admitted deliveries while keep_going() (asked at least every second, or every
    block_ms if sooner)."""
    consumer = f"{socket.gethostname()}-{os.getpid()}"
    if threading.current_thread() is not threading.main_thread():  # a recorder in a thread
        consumer += f"-{threading.get_native_id()}"
    last_claim = 0.0
    while keep_going():
        try:
            if time.monotonic() - last_claim > CLAIM_EVERY_SECONDS:
                ensure_group(runtime)
                claim_abandoned(runtime, consumer)
                rejections.flush(runtime.redis, runtime.db)
                last_claim = time.monotonic()
            record_new(runtime, consumer, block_ms=block_ms)
        except ResponseError as exc:
            if "NOGROUP" not in str(exc):  # Redis lost the stream: make the group again
                log.exception("the recorder could not read the intake stream")
                time.sleep(1)
            last_claim = 0.0
        except RedisError:
            log.warning("the recorder cannot reach Redis; trying again in a second")
            time.sleep(1)
        except Exception:
            log.exception("the recorder failed; it goes on in a second")
            time.sleep(1)


def record_all(runtime: Runtime, timeout: float = 30.0) -> None:
    """Record every delivery admitted so far (here, or by a running recorder) before returning."""
    ensure_group(runtime)
    consumer = f"{socket.gethostname()}-{os.getpid()}-now"
    while record_new(runtime, consumer):
        pass
    deadline = time.monotonic() + timeout
    while pending(runtime):
        if time.monotonic() > deadline:
            raise TimeoutError(f"{pending(runtime)} deliveries are still not recorded after "
                               f"{timeout:.0f}s: is a recorder stuck? see the worker's log")
        time.sleep(0.02)
        claim_abandoned(runtime, consumer)
    rejections.flush(runtime.redis, runtime.db)


def settle(runtime: Runtime, timeout: float = 5.0) -> bool:
    """Record the deliveries answered but not yet recorded (a client told a build id in a
    202 may ask for it at once); False if there were none, or they could not be recorded."""
    try:
        if not pending(runtime):
            return False
        record_all(runtime, timeout)
    except (RedisError, TimeoutError):
        log.warning("could not record the pending deliveries now; a recorder will")
        return False
    return True


class RecorderProcess:
    """The recorder a worker runs beside itself."""

    CHECK_SECONDS = 5  # how often the worker looks whether it still runs

    def __init__(self):
        self.process: subprocess.Popen | None = None

    def ensure_running(self) -> None:
        """Start the recorder, or start it again if it exited."""
        if self.process is not None and self.process.poll() is None:
            return
        if self.process is not None:
            log.warning("the recorder exited (%s); starting it again", self.process.returncode)
        self.process = subprocess.Popen(
            [sys.executable, "-c", "from app import cli; cli()", "recorder",
             "--parent", str(os.getpid())],
            preexec_fn=lambda: os.nice(NICENESS))

    def keep_running(self) -> None:
        """Start the recorder again if it was started and has exited (a worker's duty)."""
        if self.process is not None:
            self.ensure_running()

    def stop(self) -> None:
        """Let the recorder finish its batch and exit."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
