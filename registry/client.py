"""A small OCI distribution API client (manifests by tag or digest)."""

from __future__ import annotations

from dataclasses import dataclass

import requests

MANIFEST_TYPES = (
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json",
)


class RegistryError(Exception):
    """The registry answered something other than what the distribution spec promises."""


@dataclass(frozen=True)
class Manifest:
    """A manifest exactly as the registry serves it."""

    digest: str
    media_type: str
    raw: bytes


class RegistryClient:
    """Reads from one registry over its HTTP API."""

    def __init__(self, base_url: str, timeout: float = 30):
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.http = requests.Session()

    def manifest(self, name: str, reference: str) -> Manifest:
        """The manifest of name at a tag or digest, never converted by the registry."""
        url = f"{self.base_url}/v2/{name}/manifests/{reference}"
        try:
            response = self.http.get(url, headers={"Accept": ", ".join(MANIFEST_TYPES)},
                                     timeout=self.timeout)
        except requests.RequestException as exc:
            raise RegistryError(f"registry at {self.base_url} did not answer: {exc}") from exc
        if response.status_code != 200:
            raise RegistryError(f"GET {url} answered {response.status_code}: {response.text[:200]}")
        return Manifest(
            digest=response.headers.get("Docker-Content-Digest", ""),
            media_type=response.headers.get("Content-Type", ""),
            raw=response.content,
        )

    def put_manifest(self, name: str, reference: str, manifest: Manifest) -> str:
        """Store manifest under reference (a tag) byte for byte; returns the digest it got."""
        url = f"{self.base_url}/v2/{name}/manifests/{reference}"
        try:
            response = self.http.put(url, data=manifest.raw,
                                     headers={"Content-Type": manifest.media_type},
                                     timeout=self.timeout)
        except requests.RequestException as exc:
            raise RegistryError(f"registry at {self.base_url} did not answer: {exc}") from exc
        if response.status_code != 201:
            raise RegistryError(f"PUT {url} answered {response.status_code}: {response.text[:200]}")
        return response.headers.get("Docker-Content-Digest", "")
