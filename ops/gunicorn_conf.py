"""gunicorn settings that `lockmaster web` loads: threads, so that clients following a build
log (each holds a thread for the whole build) leave threads for the webhook intake; metrics of
exited workers kept merged; the app's start-up objects kept out of the garbage collector's way."""

import gc

from prometheus_client import multiprocess

worker_class = "gthread"
# builder.follow.FOLLOWERS_PER_PROCESS (24) threads at most follow logs; the rest answer
# webhooks and pages.
threads = 32
# A process whose threads are all taken accepts no more connections: the next one goes to a
# process that can answer it now, instead of waiting inside a busy one (no keep-alive, as with
# the sync workers before; Git hosts open a connection per delivery).
worker_connections = threads
keepalive = 0


def post_worker_init(worker) -> None:
    """Freeze what loading the app made (modules, models, routes): the collector's full
    passes then skip it instead of walking it during requests (they showed as tail latency)."""
    gc.freeze()


def child_exit(server, worker) -> None:
    """Tell prometheus_client a worker is gone, so its live gauges stop counting."""
    multiprocess.mark_process_dead(worker.pid)
