"""The image read where the engine keeps it: no export, each layer tarred from its overlay2 folder.

`docker save` copies every layer of the image (seconds for a few hundred MB) even when the
gates need only the layers a commit made. When the worker runs beside dockerd and may read its
overlay2 folders, a layer is tarred from its folder only when a gate needs it. Nothing is
followed: links are stored as links, files opened with O_NOFOLLOW, devices left out.
"""

from __future__ import annotations

import os
import tarfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from builder.checks.archive import OPAQUE, WHITEOUT, ImageArchive

_NOP = "/bin/sh -c #(nop) "
_METADATA = ("ENV ", "CMD ", "LABEL ", "USER ", "EXPOSE ", "ENTRYPOINT ", "ARG ", "HEALTHCHECK ",
             "STOPSIGNAL ", "SHELL ", "VOLUME ", "ONBUILD ", "MAINTAINER ")
_OPAQUE_XATTRS = ("trusted.overlay.opaque", "user.overlay.opaque")


class EngineImage(ImageArchive):
    """The image's config from the engine, its layers from their overlay2 folders on demand."""

    def __init__(self, config: dict, folders: list[Path], scratch: Path):
        self.path = scratch / "image.tar"  # never written: the gates' scratch files go beside
        self.config, self._folders, self._scratch = config, folders, scratch
        self.layer_members = [f"layer-{n}.tar" for n in range(len(folders))]
        self._lock = threading.Lock()  # the merged file list's (ImageArchive)
        self._tars_lock, self._made = threading.Lock(), {}

    @classmethod
    def open(cls, image, scratch: Path) -> EngineImage | None:
        """The image read from the engine's folders, or None when they cannot be read here."""
        driver = image.attrs.get("GraphDriver") or {}
        data = driver.get("Data") or {}
        if driver.get("Name") != "overlay2" or not data.get("UpperDir"):
            return None
        lower = [p for p in (data.get("LowerDir") or "").split(":") if p]
        folders = [Path(p) for p in [*reversed(lower), data["UpperDir"]]]
        diff_ids = (image.attrs.get("RootFS") or {}).get("Layers") or []
        if len(folders) != len(diff_ids) or not all(os.access(f, os.R_OK | os.X_OK)
                                                    for f in folders):
            return None
        history = layer_history(image.history(), len(diff_ids))
        if history is None:
            return None
        config = {"architecture": image.attrs.get("Architecture", "amd64"),
                  "os": image.attrs.get("Os", "linux"), "config": image.attrs.get("Config"),
                  "rootfs": {"type": "layers", "diff_ids": diff_ids}, "history": history}
        return cls(config, folders, scratch)

    def folder(self, index: int) -> Path:
        """The engine's folder of layer `index` (read only; never followed out of)."""
        return self._folders[index]

    @contextmanager
    def layer(self, index: int) -> Iterator[tarfile.TarFile]:
        """The tar of layer `index`, made from its folder the first time it is asked for."""
        with tarfile.open(self._tar(index)) as layer:
            yield layer

    @contextmanager
    def layer_file(self, index: int):
        """The raw tar of layer `index` and its size."""
        path = self._tar(index)
        with path.open("rb") as handle:
            yield handle, path.stat().st_size

    def _tar(self, index: int) -> Path:
        with self._tars_lock:
            lock = self._made.setdefault(index, threading.Lock())
        with lock:
            target = self._scratch / self.layer_members[index]
            if not target.exists():
                partial = target.with_suffix(".partial")
                write_layer_tar(self._folders[index], partial)
                partial.rename(target)
            return target


def write_layer_tar(folder: Path, target: Path) -> None:
    """A layer's folder as the tar a registry would hold (overlay whiteouts as .wh. files)."""
    with tarfile.open(target, "w", format=tarfile.GNU_FORMAT) as tar:
        for top, folders, files in os.walk(folder):
            folders.sort()
            for name in sorted(folders) + sorted(files):
                _add(tar, Path(top) / name, os.path.relpath(Path(top) / name, folder))


def _add(tar: tarfile.TarFile, path: Path, name: str) -> None:
    info = tar.gettarinfo(str(path), arcname=name)
    if info.ischr() and info.devmajor == 0 and info.devminor == 0:
        head, base = os.path.split(name)
        tar.addfile(tarfile.TarInfo(os.path.join(head, WHITEOUT + base)))
    elif info.isdir():
        tar.addfile(info)
        if _opaque(path):
            tar.addfile(tarfile.TarInfo(os.path.join(name, OPAQUE)))
    elif info.isreg():
        handle = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
        with os.fdopen(handle, "rb") as content:
            tar.addfile(info, content)
    elif info.issym() or info.islnk():
        tar.addfile(info)


def _opaque(path: Path) -> bool:
    for name in _OPAQUE_XATTRS:
        try:
            if os.getxattr(path, name, follow_symlinks=False) == b"y":
                return True
        except OSError:
            continue
    return False


def layer_history(entries: list[dict], layers: int) -> list[dict] | None:
    """The config's history from the engine's (newest first), with its empty-layer marks."""
    history = []
    for entry in reversed(entries):
        created_by = entry.get("CreatedBy") or ""
        step = created_by[len(_NOP):].lstrip() if created_by.startswith(_NOP) else created_by
        # The classic builder marks metadata steps #(nop); BuildKit writes the bare instruction.
        metadata = (created_by.startswith(_NOP) and not step.startswith(("COPY", "ADD"))) or \
            step.startswith(_METADATA)
        history.append({"created_by": created_by,
                        **({"empty_layer": True} if metadata and not entry.get("Size") else {})})
    if sum(1 for h in history if not h.get("empty_layer")) != layers:
        return None
    return history

