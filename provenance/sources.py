"""Where proofs are read from: a registry repository, or an OCI image layout on disk."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Protocol

from distribution.client import MANIFEST_TYPES, RegistryClient, RegistryError
from distribution.parallel import pool, wait_all
from provenance.formats import FormatError, sha256_digest

MAX_PROOF_BYTES = 16 * 1024 * 1024  # an SBOM envelope of a large image stays well below
MAX_LAYERS = 32  # more signatures or envelopes than any promotion chain makes


class ProofSource(Protocol):
    """Reads proof manifests by tag and their blobs by digest."""

    def manifest(self, tag: str) -> bytes | None:
        """The manifest bytes under tag, or None if there is none."""

    def blob(self, digest: str) -> bytes:
        """The blob's bytes, checked against its digest."""


class RegistrySource:
    """Proofs in one repository of a registry."""

    def __init__(self, client: RegistryClient, name: str):
        self.client, self.name = client, name

    def manifest(self, tag: str) -> bytes | None:
        """The manifest bytes under tag, or None."""
        manifest = self.client.manifest_or_none(self.name, tag)
        return manifest.raw if manifest else None

    def blob(self, digest: str) -> bytes:
        """The blob's bytes, bounded and checked against its digest."""
        data = b""
        for chunk in self.client.blob_chunks(self.name, digest):
            data += chunk
            if len(data) > MAX_PROOF_BYTES:
                raise FormatError(f"blob {digest} is larger than a proof can be")
        return _checked(data, digest)


class Prefetched:
    """A source whose proof manifests and their layers were all read at once, side by side
    (each round trip to a busy registry costs as much as the rest of the check)."""

    def __init__(self, source: ProofSource, tags: list[str]):
        workers = pool()
        self.manifests = dict(zip(tags, wait_all([workers.submit(source.manifest, tag)
                                                  for tag in tags]), strict=True))
        digests = list(dict.fromkeys(
            digest for raw in self.manifests.values() if raw is not None
            for digest in layer_digests(raw)))
        self.blobs = dict(zip(digests, wait_all([workers.submit(source.blob, digest)
                                                 for digest in digests]), strict=True))
        self.source = source

    def manifest(self, tag: str) -> bytes | None:
        """The manifest read for tag."""
        return self.manifests[tag] if tag in self.manifests else self.source.manifest(tag)

    def blob(self, digest: str) -> bytes:
        """The blob read (and checked) for digest."""
        return self.blobs[digest] if digest in self.blobs else self.source.blob(digest)


def layer_digests(raw: bytes) -> list[str]:
    """The layer digests a manifest names (the first MAX_LAYERS); none when it is not the
    JSON object of a manifest: the verifier says what is wrong with it."""
    try:
        document = json.loads(raw)
    except (ValueError, RecursionError):
        return []
    layers = document.get("layers") if isinstance(document, dict) else None
    return [layer["digest"] for layer in (layers if isinstance(layers, list) else [])[:MAX_LAYERS]
            if isinstance(layer, dict) and isinstance(layer.get("digest"), str)]


class LayoutSource:
    """Proofs in an OCI image layout (index.json names manifests by ref name)."""

    def __init__(self, folder: Path):
        self.folder = folder
        try:
            self.index = json.loads((folder / "index.json").read_text())
        except (OSError, ValueError, RecursionError) as exc:
            raise RegistryError(f"{folder} is not an OCI layout: {exc}") from exc

    def manifest(self, tag: str) -> bytes | None:
        """The manifest the layout's index names tag, or None."""
        for entry in self.index.get("manifests", []):
            if (entry.get("annotations") or {}).get("org.opencontainers.image.ref.name") == tag \
                    and entry.get("mediaType", MANIFEST_TYPES[2]) in MANIFEST_TYPES:
                return self.blob(entry["digest"])
        return None

    def blob(self, digest: str) -> bytes:
        """The blob file's bytes, checked against its digest."""
        algorithm, _, value = digest.partition(":")
        if algorithm != "sha256" or len(value) != 64 or not value.isalnum():
            raise FormatError(f"{digest!r} is not a sha256 digest")
        path = self.folder / "blobs" / "sha256" / value
        if path.is_symlink() or not path.is_file() or path.stat().st_size > MAX_PROOF_BYTES:
            raise FormatError(f"the layout has no usable blob {digest}")
        return _checked(path.read_bytes(), digest)


def _checked(data: bytes, digest: str) -> bytes:
    if sha256_digest(data) != digest:
        raise FormatError(f"blob {digest} holds bytes whose digest is {sha256_digest(data)}")
    return data
