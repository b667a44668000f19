"""Where proofs are read from: a registry repository, or an OCI image layout on disk."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Protocol

from provenance.formats import FormatError, sha256_digest
from registry.client import MANIFEST_TYPES, RegistryClient, RegistryError

MAX_PROOF_BYTES = 16 * 1024 * 1024  # an SBOM envelope of a large image stays well below


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
        if self.client.manifest_digest(self.name, tag) is None:
            return None
        return self.client.manifest(self.name, tag).raw

    def blob(self, digest: str) -> bytes:
        """The blob's bytes, bounded and checked against its digest."""
        data = b""
        for chunk in self.client.blob_chunks(self.name, digest):
            data += chunk
            if len(data) > MAX_PROOF_BYTES:
                raise FormatError(f"blob {digest} is larger than a proof can be")
        return _checked(data, digest)


class LayoutSource:
    """Proofs in an OCI image layout (index.json names manifests by ref name)."""

    def __init__(self, folder: Path):
        self.folder = folder
        try:
            self.index = json.loads((folder / "index.json").read_text())
        except (OSError, ValueError) as exc:
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
