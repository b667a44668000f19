"""Limits for BuildKit's RUN steps. The engine's BuildKit ignores a build's --memory, --cpus and
--cgroup-parent and runs every step under its own `<cgroup-parent>/buildkit` cgroup, so the
worker writes the repository's limits there before the build and takes them off after it. The
cgroup parent is the engine's own (builder/engineprocess.py reads it from dockerd).
That cgroup is the engine's, not the build's: a lock per cgroup parent keeps one limited build
at a time on it (one engine per worker, as in production, never waits)."""

from __future__ import annotations

import contextlib
import fcntl
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote

from builder.buildlog import BuildLog
from builder.engineparent import DEFAULT_PARENT
from builder.pidlimit import CGROUP_ROOT

LOCK_DIR = Path("/run/lock")
UNLIMITED = "-1"
LOCK_POLL_SECONDS = 0.05
WAIT_CHECK_SECONDS = 0.5


class StepLimits:
    """Memory, CPU and process limits of one build, written into the engine's BuildKit cgroup."""

    def __init__(self, memory: int | None, cpus: float | None, pids: int, parent: str | None,
                 root: Path = CGROUP_ROOT, lock_file: Path | None = None):
        self.memory, self.cpus, self.pids, self.parent = memory, cpus, pids, parent
        self.root, self.lock_file = root, lock_file
        self.applied = False
        self._lock = None

    def group(self, controller: str) -> Path:
        """The engine's BuildKit cgroup in one controller."""
        return self.root / controller / self.parent / "buildkit"

    def apply(self, reason: str | None, log: BuildLog,
              wait: Callable[[], None] = lambda: None) -> None:
        """Unless `reason` says why they cannot be (EnginePrep.limits_unsupported; else
        `parent` is known), take the engine's lock (calling `wait` while another build holds
        it) and write the limits; the build log says which limits hold."""
        if reason is not None:
            log.write(f"memory, CPU and process limits not applied: {reason}")
            return
        self._take_lock(log, wait)
        try:
            self._write(self.memory, self.cpus, self.pids)
        except OSError as exc:
            log.write(f"memory, CPU and process limits not applied: {exc}")
            self.release()
            return
        self.applied = True
        log.write(f"process limit: {self.pids} processes for every step together; "
                  + ", ".join(self._described()))

    def release(self) -> None:
        """Take the limits off the engine's BuildKit cgroup and let the next build have it."""
        if self.applied:
            with contextlib.suppress(OSError):
                self._write(None, None, None)
            self.applied = False
        if self._lock is not None:
            self._lock.close()  # closing the file lets go of the lock
            self._lock = None

    def _take_lock(self, log: BuildLog, wait: Callable[[], None]) -> None:
        path = self.lock_file or lock_file(self.parent)
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = open(path, "a")  # noqa: SIM115 (held until release())
        said, next_wait = False, 0.0
        while True:
            try:
                fcntl.flock(self._lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return
            except BlockingIOError:
                if not said:
                    log.write("waiting for the build that runs on this engine to finish")
                    said = True
                # Tried often (the engine is free again within 50 ms), `wait` (a look at the
                # build's record) only every half second.
                if time.monotonic() >= next_wait:
                    wait()
                    next_wait = time.monotonic() + WAIT_CHECK_SECONDS
                time.sleep(LOCK_POLL_SECONDS)

    def _write(self, memory: int | None, cpus: float | None, pids: int | None) -> None:
        memory_group = self.group("memory")
        memory_group.mkdir(parents=True, exist_ok=True)
        swap = memory_group / "memory.memsw.limit_in_bytes"
        # memsw may never be below the memory limit: lift it first, then set both (no swap
        # beyond the limit, as the legacy builder's memswap).
        if swap.exists():
            swap.write_text(UNLIMITED)
        (memory_group / "memory.limit_in_bytes").write_text(str(memory or UNLIMITED))
        if swap.exists() and memory:
            swap.write_text(str(memory))
        cpu_group = self.group("cpu")
        cpu_group.mkdir(parents=True, exist_ok=True)
        period = int((cpu_group / "cpu.cfs_period_us").read_text())
        quota = str(max(1000, round(cpus * period))) if cpus else UNLIMITED
        (cpu_group / "cpu.cfs_quota_us").write_text(quota)
        pids_group = self.group("pids")
        pids_group.mkdir(parents=True, exist_ok=True)
        (pids_group / "pids.max").write_text(str(pids) if pids else "max")

    def _described(self) -> list[str]:
        memory = f"memory {self.memory // (1024 * 1024)}m" if self.memory else "memory unlimited"
        cpus = f"{self.cpus:g} CPUs" if self.cpus else "CPUs unlimited"
        return [memory, cpus]


def lock_file(parent: str) -> Path:
    """The lock of one engine cgroup parent: engines sharing a parent share its limits, engines
    with parents of their own do not wait for each other."""
    if parent == DEFAULT_PARENT:  # the name workers of earlier releases lock
        return LOCK_DIR / "lockmaster-buildkit-limits.lock"
    return LOCK_DIR / f"lockmaster-buildkit-limits-{quote(parent, safe='')}.lock"
