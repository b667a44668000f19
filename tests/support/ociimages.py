"""Images pushed straight through the registry's HTTP API (Docker v2, OCI, a two-platform index)."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import tarfile

import requests

from devstack.services import REGISTRY_ADDR

DOCKER_V2 = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
DOCKER_LAYER = "application/vnd.docker.image.rootfs.diff.tar.gzip"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"


def _digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def push_blob(name: str, data: bytes, base: str = f"http://{REGISTRY_ADDR}") -> str:
    """Upload one blob monolithically; returns its digest."""
    digest = _digest(data)
    start = requests.post(f"{base}/v2/{name}/blobs/uploads/", timeout=30)
    assert start.status_code == 202, start.text
    location = requests.compat.urljoin(base, start.headers["Location"])
    joiner = "&" if "?" in location else "?"
    done = requests.put(f"{location}{joiner}digest={digest}", data=data, timeout=120,
                        headers={"Content-Type": "application/octet-stream"})
    assert done.status_code == 201, done.text
    return digest


def put_manifest(name: str, reference: str, media_type: str, raw: bytes) -> str:
    """PUT a manifest; returns the digest the registry reports."""
    response = requests.put(f"http://{REGISTRY_ADDR}/v2/{name}/manifests/{reference}",
                            data=raw, headers={"Content-Type": media_type}, timeout=30)
    assert response.status_code == 201, response.text
    return response.headers["Docker-Content-Digest"]


def layer(files: dict[str, bytes]) -> tuple[bytes, str]:
    """A gzipped tar layer holding files; returns (blob, diff id)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for path, content in files.items():
            info = tarfile.TarInfo(path)
            info.size, info.mode = len(content), 0o644
            tar.addfile(info, io.BytesIO(content))
    raw = buffer.getvalue()
    return gzip.compress(raw, mtime=0), _digest(raw)


def push_image(name: str, tag: str, oci: bool = False, arch: str = "amd64",
               size: int = 1024) -> tuple[str, bytes]:
    """A one-layer image with random content; returns (digest, manifest bytes)."""
    blob, diff_id = layer({"data/random.bin": os.urandom(size),
                           "etc/hello.txt": f"hello from {name}:{tag}\n".encode()})
    config = json.dumps({"architecture": arch, "os": "linux",
                         "config": {"Cmd": ["/bin/sh"]},
                         "rootfs": {"type": "layers", "diff_ids": [diff_id]}}).encode()
    layer_digest, config_digest = push_blob(name, blob), push_blob(name, config)
    manifest = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST if oci else DOCKER_V2,
        "config": {"mediaType": OCI_CONFIG if oci else DOCKER_CONFIG,
                   "digest": config_digest, "size": len(config)},
        "layers": [{"mediaType": OCI_LAYER if oci else DOCKER_LAYER,
                    "digest": layer_digest, "size": len(blob)}],
    }
    raw = json.dumps(manifest, indent=3).encode()
    return put_manifest(name, tag, manifest["mediaType"], raw), raw


def push_index(name: str, tag: str) -> tuple[str, list[str]]:
    """A two-platform OCI index (amd64, arm64); returns (index digest, child digests)."""
    children = []
    for arch in ("amd64", "arm64"):
        digest, raw = push_image(name, f"{tag}-{arch}", oci=True, arch=arch)
        children.append({"mediaType": OCI_MANIFEST, "digest": digest, "size": len(raw),
                         "platform": {"architecture": arch, "os": "linux"}})
    raw = json.dumps({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": children},
                     indent=2).encode()
    return put_manifest(name, tag, OCI_INDEX, raw), [c["digest"] for c in children]
