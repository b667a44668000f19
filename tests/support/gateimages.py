"""Small images for the gate tests, built on the local busybox base (files written by COPY)."""

from __future__ import annotations

import uuid
from dataclasses import replace
from pathlib import Path

from builder.checks.archive import ImageArchive
from builder.checks.context import GateContext
from config.gates import ChecksPolicy

TEST_LABEL = "io.lockmaster.test-image"
AWS_KEY_ID = "AKIA" + "J7QWERTYZ2PLMNBV"
PRIVATE_KEY = ("-----BEGIN RSA PRIVATE KEY-----\n"
               "MIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gun\n"
               "VTLw7onLRnrq0/IzW7yWR7QkrmBL7jTKEn5u+qKhbwKfBstIs+bMY2Zkp18gnTxK\n"
               "-----END RSA PRIVATE KEY-----\n")
DPKG_STATUS = """\
Package: openssl
Status: install ok installed
Priority: optional
Section: utils
Installed-Size: 1000
Maintainer: Debian OpenSSL Team <pkg-openssl-devel@alioth-lists.debian.net>
Architecture: amd64
Version: 1:1.1.1n-0+deb11u3
Description: Secure Sockets Layer toolkit

"""
OS_RELEASE = 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nID=debian\nVERSION_ID="12"\n'
DIST_INFO = "/usr/lib/python3/dist-packages/requests-2.19.0.dist-info"


def build_image(client, folder: Path, dockerfile: str, files: dict[str, str]) -> str:
    """Build an image from a Dockerfile and files; returns its id (labelled for removal)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "Dockerfile").write_text(dockerfile)
    for name, content in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(content)
    image, _logs = client.images.build(path=str(folder), network_mode="none", rm=True,
                                       pull=False, labels={TEST_LABEL: uuid.uuid4().hex})
    return image.id


def packaged_files() -> dict[str, str]:
    """A Debian package status file, an os-release and a Python dist-info."""
    return {"rootfs/var/lib/dpkg/status": DPKG_STATUS, "rootfs/etc/os-release": OS_RELEASE,
            f"rootfs{DIST_INFO}/METADATA": "Metadata-Version: 2.1\nName: requests\n"
                                           "Version: 2.19.0\n",
            f"rootfs{DIST_INFO}/RECORD": "requests/__init__.py,,\n"}


def save(client, image_id: str, tar: Path) -> ImageArchive:
    """Export the image once, as the runner does."""
    with tar.open("wb") as out:
        for chunk in client.images.get(image_id).save(named=False):
            out.write(chunk)
    return ImageArchive(tar)


def gate_context(client, image_id: str, archive: ImageArchive, workspace: Path,
                 advisories=lambda names: [], **policy) -> GateContext:
    """A context for running gates directly on an exported image."""
    return GateContext(build_id=f"test-{uuid.uuid4().hex[:12]}", image_id=image_id,
                       archive=archive, policy=replace(ChecksPolicy(), **policy),
                       workspace=workspace, dockerfile=workspace / "Dockerfile",
                       docker=client, advisories=advisories)
