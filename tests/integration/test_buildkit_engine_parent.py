"""BuildKit's limits on an engine of the test's own started with `--cgroup-parent`: the worker
reads that parent from the engine's dockerd, and the limits land where the steps run."""

from __future__ import annotations

import contextlib
import re
import uuid
from pathlib import Path

import pytest

from config.gates import GATES
from devstack.baseimage import ensure_base_image
from tests.support.buildhelpers import (
    build_log,
    build_of,
    push,
    start_worker,
    stop_worker,
    wait_for,
)
from tests.support.engines import dedicated_engine
from tests.support.stack import repo_entry

pytestmark = pytest.mark.once
PARENT = "lm-test-parent"
CGROUP = Path("/sys/fs/cgroup")
MEMORY = 48 * 1024 * 1024


def _limits() -> tuple[int, str, str]:
    """The limits in the parent's BuildKit cgroup: memory bytes, CPU quota, pids.max."""
    group = Path(PARENT) / "buildkit"
    return (int((CGROUP / "memory" / group / "memory.limit_in_bytes").read_text()),
            (CGROUP / "cpu" / group / "cpu.cfs_quota_us").read_text().strip(),
            (CGROUP / "pids" / group / "pids.max").read_text().strip())


def _remove_parent() -> None:
    """The parent's cgroups the engine and the worker made, in every hierarchy."""
    for hierarchy in CGROUP.iterdir():
        for group in (hierarchy / PARENT / "buildkit", hierarchy / PARENT):
            with contextlib.suppress(OSError):
                group.rmdir()


def test_limits_land_in_the_engines_own_cgroup_parent(make_app, source_repo, secret,
                                                      monkeypatch, tmp_path):
    marker = f"limited-{uuid.uuid4().hex}"
    try:
        with dedicated_engine([f"--cgroup-parent={PARENT}"]) as engine:
            monkeypatch.setenv("DOCKER_HOST", engine.url)  # the worker's engine
            base = ensure_base_image(engine.client)
            app = make_app([repo_entry(source_repo, memory="48m", cpus=0.5, pids=100,
                                       checks={gate: {"enabled": False} for gate in GATES})])
            # The step says which memory cgroup it runs in and the limit that holds for it.
            source_repo.commit({"Dockerfile": (
                f"FROM {base}\nRUN echo {marker} && grep memory /proc/self/cgroup && "
                "grep hierarchical_memory_limit /sys/fs/cgroup/memory/memory.stat && sleep 4\n")})
            client = app.test_client()
            build_id = push(client, source_repo, secret)
            worker = start_worker(app, tmp_path / "worker.log", "--burst")
            try:
                wait_for(lambda: marker in build_log(client, build_id), 120, "the step to run")
                assert _limits() == (MEMORY, "50000", "100")
                worker.wait(timeout=120)
            finally:
                stop_worker(worker)
            build, log = build_of(client, build_id), build_log(client, build_id)
            assert build["status"] == "staged", (build["error"], log)
            assert "not applied" not in log
            assert re.search(rf":memory:/{PARENT}/buildkit/\w+$", log, re.MULTILINE), log
            assert f"hierarchical_memory_limit {MEMORY}" in log
            memory, quota, pids = _limits()
            assert (memory > 1 << 60, quota, pids) == (True, "-1", "max")
    finally:
        _remove_parent()
