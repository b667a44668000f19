"""The files inside a .tar, .tar.gz or .zip found in an image: one level deep, and bounded."""

from __future__ import annotations

import io
import tarfile
import zipfile

MAX_MEMBERS = 2000
MAX_MEMBER_BYTES = 8 << 20
# Everything unpacked from one archive (read or skipped), so a bomb costs no more than this.
MAX_UNPACKED_BYTES = 64 << 20


def is_archive(content: bytes) -> bool:
    """True for a zip, a tar or a gzip-compressed tar, told by its first bytes."""
    return (content[:4] == b"PK\x03\x04" or content[:2] == b"\x1f\x8b"
            or content[257:262] == b"ustar")


def inside_archive(content: bytes) -> list[tuple[str, bytes]]:
    """(name, bytes) of the regular files of an archive, within the bounds; [] if unreadable."""
    try:
        if content[:4] == b"PK\x03\x04":
            return _zip_members(content)
        return _tar_members(content)
    except (tarfile.TarError, zipfile.BadZipFile, OSError, EOFError, ValueError):
        return []


def _zip_members(content: bytes) -> list[tuple[str, bytes]]:
    members, budget = [], MAX_UNPACKED_BYTES
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        for info in archive.infolist()[:MAX_MEMBERS]:
            if info.is_dir() or budget <= 0:
                continue
            with archive.open(info) as handle:
                data = handle.read(min(MAX_MEMBER_BYTES, budget))
            budget -= len(data)
            members.append((_name(info.filename), data))
    return members


def _tar_members(content: bytes) -> list[tuple[str, bytes]]:
    members, budget = [], MAX_UNPACKED_BYTES
    with tarfile.open(fileobj=io.BytesIO(content), mode="r|*") as archive:
        for count, member in enumerate(archive):
            budget -= member.size
            if count >= MAX_MEMBERS or budget < 0:
                break
            if member.isfile() and member.size <= MAX_MEMBER_BYTES:
                members.append((_name(member.name), archive.extractfile(member).read()))
    return members


def _name(name: str) -> str:
    """A member's name as safe to show: printable and short (it comes from the image)."""
    return "".join(c if c.isprintable() else "?" for c in name)[:200]
