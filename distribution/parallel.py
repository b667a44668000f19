"""One pool of threads per process for registry round trips made side by side.

Making threads per call costs more than the round trips they save on a busy host. Tasks may
wait for tasks they submitted (a copy waits for its blob mounts), at most a few levels at a
time, so the pool is several times larger than the waits that can hold it.
"""

from __future__ import annotations

import os
from concurrent.futures import Future, ThreadPoolExecutor

WORKERS = 12
_pool: tuple[int, ThreadPoolExecutor] | None = None


def pool() -> ThreadPoolExecutor:
    """This process's pool (a forked child makes its own: threads do not survive a fork)."""
    global _pool
    if _pool is None or _pool[0] != os.getpid():
        _pool = (os.getpid(), ThreadPoolExecutor(WORKERS, thread_name_prefix="registry"))
    return _pool[1]


def wait_all(futures: list[Future]) -> list:
    """The results of futures, in order (the first failure is raised)."""
    return [future.result() for future in futures]
