"""A Debian 12 minbase image made on this machine with debootstrap (no registry pull needed)."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

import docker
from docker.errors import ImageNotFound

DEBIAN_BASE = "lockmaster-base/debian:bookworm"
MIRROR = "http://deb.debian.org/debian"
# What Lockmaster's own image needs from Debian; installed here because builds have no network.
PACKAGES = ("python3", "python3-venv", "git", "ca-certificates")


def ensure_debian_base(client: docker.DockerClient, cache_dir: Path) -> str:
    """Import the debootstrapped rootfs as an image unless the engine already has it."""
    try:
        client.images.get(DEBIAN_BASE)
        return DEBIAN_BASE
    except ImageNotFound:
        pass
    if not shutil.which("debootstrap"):
        raise RuntimeError("debootstrap is not installed: apt-get install -y debootstrap")
    rootfs = cache_dir / "debian-bookworm-minbase"
    if not (rootfs / "etc" / "debian_version").exists():
        shutil.rmtree(rootfs, ignore_errors=True)
        subprocess.run(["debootstrap", "--variant=minbase", f"--include={','.join(PACKAGES)}",
                        "bookworm", str(rootfs), MIRROR], check=True, capture_output=True)
    with tempfile.TemporaryDirectory(dir=cache_dir) as folder:
        archive = Path(folder) / "rootfs.tar"
        subprocess.run(["tar", "-C", str(rootfs), "--numeric-owner", "-cf", str(archive), "."],
                       check=True)
        repository, tag = DEBIAN_BASE.split(":")
        client.api.import_image_from_file(str(archive), repository=repository, tag=tag)
    return DEBIAN_BASE
