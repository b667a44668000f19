"""One `docker save` export of the built image, shared by every gate and read in place."""

from __future__ import annotations

import json
import posixpath
import re
import tarfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

WHITEOUT = ".wh."
OPAQUE = ".wh..wh..opq"
_BUILD_ARGS = re.compile(r"^\|\d+ (\S+=\S* )*")


@dataclass(frozen=True)
class LayerFile:
    """A regular file as one layer holds it."""

    path: str
    layer: int
    member: str
    size: int


class ImageArchive:
    """The image's config and layers from a docker-archive tar; nothing is unpacked to disk."""

    def __init__(self, path: Path):
        self.path = path
        self._lock = threading.Lock()
        with tarfile.open(path) as outer:
            manifest = json.load(outer.extractfile("manifest.json"))[0]
            self.config = json.load(outer.extractfile(manifest["Config"]))
            self.layer_members = list(manifest["Layers"])

    @contextmanager
    def layer(self, index: int) -> Iterator[tarfile.TarFile]:
        """The tar of layer `index` (0 is the base), opened for this caller alone."""
        with tarfile.open(self.path) as outer, \
                tarfile.open(fileobj=outer.extractfile(self.layer_members[index])) as layer:
            yield layer

    @contextmanager
    def layer_file(self, index: int):
        """The raw tar of layer `index` and its size."""
        with tarfile.open(self.path) as outer:
            handle = outer.extractfile(self.layer_members[index])
            size = handle.seek(0, 2)
            handle.seek(0)
            yield handle, size

    @property
    def diff_ids(self) -> list[str]:
        """The digest of each uncompressed layer, as the image config lists them."""
        return list(self.config.get("rootfs", {}).get("diff_ids", []))

    @cached_property
    def steps(self) -> list[str]:
        """The Dockerfile step that made each layer, from the image history."""
        made = [h for h in self.config.get("history", []) if not h.get("empty_layer")]
        steps = [step_text(h.get("created_by", "")) for h in made]
        return (steps + ["?"] * len(self.layer_members))[: len(self.layer_members)]

    def filesystem(self) -> dict[str, LayerFile]:
        """The files of the final image (later layers and whiteouts applied), by path."""
        with self._lock:
            if "_files" not in self.__dict__:
                self._files = self._merge()
            return self._files

    def _merge(self) -> dict[str, LayerFile]:
        files: dict[str, LayerFile] = {}
        for index in range(len(self.layer_members)):
            with self.layer(index) as layer:
                for member in layer:
                    _apply(files, member, index)
        return files

    def read(self, entry: LayerFile, limit: int = 1 << 20) -> bytes:
        """Up to `limit` bytes of a file of one layer."""
        with self.layer(entry.layer) as layer:
            handle = layer.extractfile(entry.member)
            return handle.read(limit) if handle else b""


def _apply(files: dict[str, LayerFile], member: tarfile.TarInfo, index: int) -> None:
    path = "/" + posixpath.normpath(member.name).lstrip("./")
    folder, base = posixpath.split(path)
    if base == OPAQUE:
        for old in [p for p in files if p.startswith(folder.rstrip("/") + "/")]:
            del files[old]
    elif base.startswith(WHITEOUT):
        gone = posixpath.join(folder, base[len(WHITEOUT):])
        for old in [p for p in files if p == gone or p.startswith(gone + "/")]:
            del files[old]
    elif member.isfile() or member.issym() or member.islnk():
        files[path] = LayerFile(path, index, member.name, member.size)
    elif member.isdir():
        files.pop(path, None)


def step_text(created_by: str) -> str:
    """A history entry's `created_by` as the Dockerfile step a person wrote."""
    text = _BUILD_ARGS.sub("", created_by.strip())
    if text.startswith("/bin/sh -c #(nop) "):
        return text[len("/bin/sh -c #(nop) "):].strip()
    if text.startswith("/bin/sh -c "):
        return "RUN " + text[len("/bin/sh -c "):].strip()
    return text
