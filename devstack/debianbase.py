"""A Debian 12 minbase image made on this machine with debootstrap (no registry pull needed)."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import tempfile
from pathlib import Path

import docker
from docker.errors import ImageNotFound

DEBIAN_REPOSITORY = "lockmaster-base/debian"
SUITE = "bookworm"
MIRROR = "http://deb.debian.org/debian"
# What Lockmaster's own image needs from Debian; installed here because builds have no network.
PACKAGES = ("python3", "python3-venv", "git", "ca-certificates")
# The most ordinary application base: what the gates must pass without a false alarm.
APP_PACKAGES = ("ca-certificates", "openssl", "python3", "curl")


def debian_tag(packages: tuple[str, ...]) -> str:
    """The image name of a base with these packages: keyed by its inputs, so reused safely."""
    key = hashlib.sha256(f"{SUITE} minbase {','.join(sorted(packages))}".encode()).hexdigest()
    return f"{DEBIAN_REPOSITORY}:{SUITE}-{key[:12]}"


def ensure_debian_base(client: docker.DockerClient, cache_dir: Path,
                       packages: tuple[str, ...] = PACKAGES) -> str:
    """Import the debootstrapped rootfs as an image unless the engine already has it."""
    name = debian_tag(packages)
    try:
        client.images.get(name)
        return name
    except ImageNotFound:
        pass
    if not shutil.which("debootstrap"):
        raise RuntimeError("debootstrap is not installed: apt-get install -y debootstrap")
    cache_dir.mkdir(parents=True, exist_ok=True)
    rootfs = cache_dir / f"debian-{name.rsplit(':', 1)[1]}"
    if not (rootfs / "etc" / "debian_version").exists():
        shutil.rmtree(rootfs, ignore_errors=True)
        subprocess.run(["debootstrap", "--variant=minbase", f"--include={','.join(packages)}",
                        SUITE, str(rootfs), MIRROR], check=True, capture_output=True)
    with tempfile.TemporaryDirectory(dir=cache_dir) as folder:
        archive = Path(folder) / "rootfs.tar"
        subprocess.run(["tar", "-C", str(rootfs), "--numeric-owner", "-cf", str(archive), "."],
                       check=True)
        repository, tag = name.split(":")
        client.api.import_image_from_file(str(archive), repository=repository, tag=tag)
    return name
