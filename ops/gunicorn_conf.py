"""gunicorn settings that `lockmaster web` loads (metrics of exited workers are kept merged,
and the app's start-up objects are kept out of the garbage collector's way)."""

import gc

from prometheus_client import multiprocess


def post_worker_init(worker) -> None:
    """Freeze what loading the app made (modules, models, routes): the collector's full
    passes then skip it instead of walking it during requests (they showed as tail latency)."""
    gc.freeze()


def child_exit(server, worker) -> None:
    """Tell prometheus_client a worker is gone, so its live gauges stop counting."""
    multiprocess.mark_process_dead(worker.pid)
