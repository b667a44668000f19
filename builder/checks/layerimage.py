"""One layer of the export as an image of its own, for syft to scan as it scans whole images."""

from __future__ import annotations

import hashlib
import io
import json
import posixpath
import tarfile
from pathlib import Path

# What syft's image catalogers read besides executables and shared libraries: package
# databases, language package metadata, archives of Java and .NET, kernel modules.
_NAMES = {"status", "installed", "METADATA", "PKG-INFO", "package.json", "desc", "CONTENTS",
          "Packages", "Packages.db", "rpmdb.sqlite", "installed.json", "container-manifest-2",
          "RECORD", "composer.lock", "vmlinuz", "Gemfile.lock"}
_SUFFIXES = (".jar", ".war", ".ear", ".par", ".sar", ".nar", ".jpi", ".hpi", ".lpkg", ".kar",
             ".gemspec", ".deps.json", ".dll", ".exe", ".rockspec", ".egg-info", ".ko",
             ".so", ".a")
_FOLDERS = ("/conda-meta/", "/nix/store/", "/lib/modules/", "/var/lib/rpm/",
            "/var/lib/dpkg/", "/lib/apk/", "/var/lib/pacman/")


def catalogable(layer: tarfile.TarFile) -> bool:
    """True when a layer holds anything syft finds packages in (most app layers do not)."""
    for member in layer:
        if not member.isfile():
            continue
        path = "/" + member.name.lstrip("./")
        name = posixpath.basename(path)
        if (member.mode & 0o111 or name in _NAMES or name.endswith(_SUFFIXES)
                or ".so." in name or any(folder in path for folder in _FOLDERS)):
            return True
    return False


def write_layer_image(context, index: int, release: bytes, target: Path) -> None:
    """A docker-archive of layer `index` over a layer holding only the image's os-release."""
    layers: list[tuple[str, bytes | None, str]] = []
    if release:
        release_tar = _release_layer(release)
        layers.append(("release/layer.tar", release_tar,
                       "sha256:" + hashlib.sha256(release_tar).hexdigest()))
    layers.append(("layer/layer.tar", None, context.archive.diff_ids[index]))
    config = json.dumps({"architecture": context.archive.config.get("architecture", "amd64"),
                         "os": context.archive.config.get("os", "linux"), "config": {},
                         "rootfs": {"type": "layers", "diff_ids": [d for _n, _b, d in layers]},
                         "history": [{"created_by": name} for name, _b, _d in layers]}).encode()
    config_name = hashlib.sha256(config).hexdigest() + ".json"
    manifest = json.dumps([{"Config": config_name, "RepoTags": None,
                            "Layers": [name for name, _b, _d in layers]}]).encode()
    with tarfile.open(target, "w") as out:
        _add(out, config_name, io.BytesIO(config), len(config))
        for name, content, _diff_id in layers:
            if content is not None:
                _add(out, name, io.BytesIO(content), len(content))
                continue
            with context.archive.layer_file(index) as (handle, size):
                _add(out, name, handle, size)
        _add(out, "manifest.json", io.BytesIO(manifest), len(manifest))


def _release_layer(release: bytes) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        folder = tarfile.TarInfo("etc")
        folder.type, folder.mode = tarfile.DIRTYPE, 0o755
        tar.addfile(folder)
        _add(tar, "etc/os-release", io.BytesIO(release), len(release))
    return buffer.getvalue()


def _add(tar: tarfile.TarFile, name: str, content, size: int) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mode = size, 0o644
    tar.addfile(info, content)
