"""A many-layer image pushed straight through a registry's HTTP API (for pull benchmarks)."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import tarfile

import requests

MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
CONFIG = "application/vnd.docker.container.image.v1+json"
LAYER = "application/vnd.docker.image.rootfs.diff.tar.gzip"


def push_layers(base: str, name: str, tag: str, layers: int = 20,
                layer_bytes: int = 256 * 1024) -> str:
    """Push an image of `layers` layers of random (incompressible) bytes; its digest."""
    described, diff_ids = [], []
    for number in range(layers):
        tar = _tar(f"layer-{number}.bin", os.urandom(layer_bytes))
        blob = gzip.compress(tar, mtime=0)
        described.append({"mediaType": LAYER, "size": len(blob),
                          "digest": _push_blob(base, name, blob)})
        diff_ids.append(_digest(tar))
    config = json.dumps({"architecture": "amd64", "os": "linux", "config": {},
                         "rootfs": {"type": "layers", "diff_ids": diff_ids}}).encode()
    manifest = json.dumps({"schemaVersion": 2, "mediaType": MANIFEST,
                           "config": {"mediaType": CONFIG, "size": len(config),
                                      "digest": _push_blob(base, name, config)},
                           "layers": described}).encode()
    answer = requests.put(f"{base}/v2/{name}/manifests/{tag}", data=manifest, timeout=60,
                          headers={"Content-Type": MANIFEST})
    answer.raise_for_status()
    return answer.headers["Docker-Content-Digest"]


def _digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _tar(path: str, content: bytes) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as archive:
        info = tarfile.TarInfo(path)
        info.size = len(content)
        archive.addfile(info, io.BytesIO(content))
    return out.getvalue()


def _push_blob(base: str, name: str, data: bytes) -> str:
    digest = _digest(data)
    start = requests.post(f"{base}/v2/{name}/blobs/uploads/", timeout=30)
    start.raise_for_status()
    location = requests.compat.urljoin(base, start.headers["Location"])
    joiner = "&" if "?" in location else "?"
    requests.put(f"{location}{joiner}digest={digest}", data=data, timeout=120,
                 headers={"Content-Type": "application/octet-stream"}).raise_for_status()
    return digest
