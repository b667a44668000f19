"""A base image made on this machine (FROM scratch + busybox-static): no registry pull needed."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import docker
from docker.errors import ImageNotFound

BASE_IMAGE = "lockmaster-base/busybox:latest"
BUSYBOX = Path("/bin/busybox")

DOCKERFILE = """\
FROM scratch
COPY busybox /bin/busybox
RUN ["/bin/busybox", "--install", "-s", "/bin"]
CMD ["/bin/sh"]
"""


def ensure_base_image(client: docker.DockerClient) -> str:
    """Build the busybox base image unless the engine already has it; returns its name."""
    try:
        client.images.get(BASE_IMAGE)
        return BASE_IMAGE
    except ImageNotFound:
        pass
    if not BUSYBOX.exists():
        raise RuntimeError("busybox-static is not installed: apt-get install -y busybox-static")
    with tempfile.TemporaryDirectory() as folder:
        shutil.copy2(BUSYBOX, Path(folder) / "busybox")
        (Path(folder) / "Dockerfile").write_text(DOCKERFILE)
        client.images.build(path=folder, tag=BASE_IMAGE, network_mode="none", rm=True,
                            pull=False)
    return BASE_IMAGE
