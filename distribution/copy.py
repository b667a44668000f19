"""Copy an image by digest between repositories: same bytes, same digest, no layer re-upload."""

from __future__ import annotations

import json
import logging

from distribution.client import Manifest, RegistryClient, RegistryError, sha256_digest
from distribution.parallel import pool, wait_all

log = logging.getLogger(__name__)


class CopyError(RegistryError):
    """The copy could not keep the digest; the message says what differed."""


def copy_image(source: RegistryClient, source_name: str, target: RegistryClient,
               target_name: str, digest: str) -> Manifest:
    """Make target_name@digest serve exactly what source_name@digest serves."""
    manifest = source.manifest(source_name, digest)
    if sha256_digest(manifest.raw) != digest:
        raise CopyError(f"{source_name}@{digest} served bytes whose digest is "
                        f"{sha256_digest(manifest.raw)}; refusing to copy")
    if target.manifest_digest(target_name, digest) == digest:
        return manifest
    if manifest.is_index:
        for child in json.loads(manifest.raw).get("manifests", []):
            copy_image(source, source_name, target, target_name, child["digest"])
    else:
        # Side by side: each blob is a round trip (a mount, mostly) to the same registry.
        wait_all([pool().submit(copy_blob, source, source_name, target, target_name, blob)
                  for blob in referenced_blobs(manifest)])
    stored = target.put_manifest(target_name, digest, manifest)
    if stored != digest:
        raise CopyError(f"{target_name} stored the manifest as {stored}, not {digest}")
    return manifest


def referenced_blobs(manifest: Manifest) -> list[str]:
    """The config and layer digests an image manifest refers to."""
    document = json.loads(manifest.raw)
    blobs = [document["config"]["digest"]] if "config" in document else []
    return blobs + [layer["digest"] for layer in document.get("layers", [])]


def copy_blob(source: RegistryClient, source_name: str, target: RegistryClient,
              target_name: str, digest: str) -> str:
    """Link one blob into target_name; returns how: 'present', 'mounted' or 'uploaded'."""
    upload_url = None
    if _same_registry(source, target):
        # A mount of a blob the target already links answers 201 too: no HEAD needed first.
        upload_url = target.mount_blob(target_name, digest, source_name)
        if upload_url is None:
            return "mounted"
        log.info("mount of %s into %s answered 202; uploading it", digest, target_name)
    elif target.has_blob(target_name, digest):
        return "present"
    _upload(source, source_name, target, target_name, digest, upload_url)
    return "uploaded"


def _upload(source: RegistryClient, source_name: str, target: RegistryClient,
            target_name: str, digest: str, upload_url: str | None) -> None:
    problem: RegistryError | None = None
    for _attempt in range(target.attempts):
        url = upload_url or target.start_upload(target_name)
        upload_url = None
        try:
            target.upload_blob(url, digest, source.blob_chunks(source_name, digest))
            return
        except RegistryError as exc:
            problem = exc
    raise CopyError(f"could not upload {digest} to {target_name}: {problem}")


def _same_registry(source: RegistryClient, target: RegistryClient) -> bool:
    return source.base_url == target.base_url
