"""A process-count limit for builds. The engine's build API has no pids limit, but it lets a
build's RUN containers live under a cgroup parent of our choice: each build gets one of its own
whose pids.max holds for all its containers (cgroup v1 with the cgroupfs driver, engine on
this host; elsewhere the build log says the limit is not applied)."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

import docker

from builder.buildlog import BuildLog

CGROUP_ROOT = Path("/sys/fs/cgroup")
PARENT = "lockmaster-builds"


class PidsLimit:
    """The cgroup of one build, made before the build and removed after it."""

    def __init__(self, build_id: str, limit: int, root: Path = CGROUP_ROOT):
        self.build_id, self.limit, self.root = build_id, limit, root
        self.applied = False

    def open(self, client: docker.DockerClient, log: BuildLog) -> str | None:
        """Make the build's cgroup with its pids.max; the cgroup parent to build under, or
        None (logged) when this engine cannot be limited that way."""
        reason = unsupported(client, self.root)
        if reason is not None:
            log.write(f"process limit of {self.limit} not applied: {reason}")
            return None
        group = self.root / "pids" / PARENT / self.build_id
        try:
            group.mkdir(parents=True, exist_ok=True)
            (group / "pids.max").write_text(str(self.limit))
        except OSError as exc:
            log.write(f"process limit of {self.limit} not applied: {exc}")
            return None
        self.applied = True
        log.write(f"process limit: {self.limit} processes for the whole build")
        return f"/{PARENT}/{self.build_id}"

    def close(self) -> None:
        """Remove the build's cgroup in every controller the engine made it in."""
        if not self.applied:
            return
        for controller in self.root.iterdir():
            with contextlib.suppress(OSError):
                (controller / PARENT / self.build_id).rmdir()


def unsupported(client: docker.DockerClient, root: Path = CGROUP_ROOT) -> str | None:
    """Why this engine's builds cannot be limited through cgroups here, or None."""
    host = os.environ.get("DOCKER_HOST", "")
    if host and not host.startswith("unix://"):
        return f"the Docker engine ({host}) is on another host"
    info = client.info()
    driver, version = info.get("CgroupDriver"), info.get("CgroupVersion", "1")
    if driver != "cgroupfs" or str(version) != "1":
        return f"the engine uses cgroup {version} with the {driver} driver " \
               "(only cgroup v1 with cgroupfs is supported)"
    if not os.access(root / "pids", os.W_OK):
        return f"{root / 'pids'} is not writable by the worker (run it as root)"
    return None
