"""gunicorn settings that `lockmaster web` loads (metrics of exited workers are kept merged)."""

from prometheus_client import multiprocess


def child_exit(server, worker) -> None:
    """Tell prometheus_client a worker is gone, so its live gauges stop counting."""
    multiprocess.mark_process_dead(worker.pid)
