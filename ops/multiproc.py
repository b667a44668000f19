"""Set up prometheus_client's multiprocess mode; call before anything imports ops.metrics."""

from __future__ import annotations

import os
from pathlib import Path

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"


def prepare(data_dir: Path, same_files_for_children: bool = False) -> None:
    """Share metric files between this installation's processes under data_dir/metrics.

    A worker calls this after its imports, which may have loaded prometheus_client already:
    `same_files_for_children` then sets the value class itself, with one set of files for
    this process and any it forks, so files do not pile up per process.
    """
    folder = data_dir / "metrics"
    folder.mkdir(parents=True, exist_ok=True)
    os.environ[MULTIPROC_ENV] = str(folder)
    if same_files_for_children:
        from prometheus_client import values

        owner = os.getpid()
        values.ValueClass = values.MultiProcessValue(process_identifier=lambda: owner)
