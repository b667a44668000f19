"""A small OCI distribution API client: manifests and blobs, with retries on transient errors."""

from __future__ import annotations

import hashlib
import os
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from urllib.parse import urljoin

import requests

MANIFEST_TYPES = (
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json",
)
INDEX_TYPES = MANIFEST_TYPES[:2]
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
CHUNK = 1024 * 1024
REFRESH_MARGIN = 30  # seconds: a token closer than this to expiry is renewed before use
_CHALLENGE = re.compile(r'(\w+)="([^"]*)"')


class RegistryError(Exception):
    """The registry answered something other than what the distribution spec promises."""


@dataclass(frozen=True)
class Manifest:
    """A manifest exactly as the registry serves it."""

    digest: str
    media_type: str
    raw: bytes

    @property
    def is_index(self) -> bool:
        """True for an OCI index or a Docker manifest list."""
        return self.media_type in INDEX_TYPES


def sha256_digest(data: bytes) -> str:
    """The OCI digest of some bytes."""
    return "sha256:" + hashlib.sha256(data).hexdigest()


class RegistryClient:
    """Talks to one registry over its HTTP API; retries 429, 5xx and connection errors."""

    def __init__(self, base_url: str, timeout: float = 30, attempts: int = 4,
                 backoff: float = 0.5, credentials: tuple[str, str] | None = None,
                 ca_file: str | None = None):
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.attempts = attempts
        self.backoff = backoff
        self.http = requests.Session()
        # requests reads proxies, .netrc and the CA bundle from the environment on every
        # request (~0.2 ms of CPU each; a build's push stage makes ~20): read here, once.
        self.http.trust_env = False
        self.verify: str | bool = (ca_file or os.environ.get("REQUESTS_CA_BUNDLE")
                                   or os.environ.get("CURL_CA_BUNDLE") or True)
        self._proxies: dict[str, dict[str, str]] = {}
        self.bearer = BearerAuth(self.http, credentials, self.verify, self.proxies)

    def proxies(self, url: str) -> dict[str, str]:
        """The proxies the environment names for url's host (HTTPS_PROXY, NO_PROXY, ...),
        read once per host."""
        host = urljoin(url, "/")
        if host not in self._proxies:
            self._proxies[host] = requests.utils.get_environ_proxies(host)
        return self._proxies[host]

    def base_status(self) -> int:
        """What `/v2/` answers to one plain request, without a token or retries: 200, or 401
        from a registry that wants one (a readiness probe's question)."""
        url = f"{self.base_url}/v2/"
        return self.http.get(url, timeout=self.timeout, verify=self.verify,
                             proxies=self.proxies(url)).status_code

    def request(self, method: str, url: str, expect: tuple[int, ...], attempts: int = 0,
                **kwargs) -> requests.Response:
        """Send a request, retrying transient failures with exponential backoff."""
        url = url if url.startswith("http") else urljoin(self.base_url + "/", url.lstrip("/"))
        problem = ""
        for attempt in range(attempts or self.attempts):
            if attempt:
                time.sleep(self.backoff * 2 ** (attempt - 1))
            try:
                response = self._send(method, url, **kwargs)
            except requests.RequestException as exc:
                problem = f"did not answer ({exc})"
                continue
            if response.status_code in expect:
                return response
            problem = f"answered {response.status_code}: {response.text[:200]}"
            if response.status_code not in RETRY_STATUSES:
                break
        raise RegistryError(f"{method} {url.split('?')[0]} {problem}")

    def _send(self, method: str, url: str, **kwargs) -> requests.Response:
        """One request with the current token; on a Bearer challenge, a new token and once more
        (a streamed body cannot be sent twice: its 401 goes back to the caller)."""
        headers = {**kwargs.pop("headers", {}), **self.bearer.header()}
        kwargs["proxies"] = self.proxies(url)
        response = self.http.request(method, url, timeout=self.timeout, headers=headers,
                                     verify=self.verify, **kwargs)
        challenge = response.headers.get("WWW-Authenticate", "")
        if response.status_code != 401 or not challenge.startswith("Bearer "):
            return response
        self.bearer.renew(dict(_CHALLENGE.findall(challenge)), self.timeout)
        if hasattr(kwargs.get("data"), "__next__"):
            return response
        headers.update(self.bearer.header())
        return self.http.request(method, url, timeout=self.timeout, headers=headers,
                                 verify=self.verify, **kwargs)

    def manifest(self, name: str, reference: str) -> Manifest:
        """The manifest of name at a tag or digest, never converted by the registry."""
        response = self.request("GET", f"/v2/{name}/manifests/{reference}", (200,),
                                headers={"Accept": ", ".join(MANIFEST_TYPES)})
        return Manifest(
            digest=response.headers.get("Docker-Content-Digest", ""),
            media_type=response.headers.get("Content-Type", ""),
            raw=response.content,
        )

    def manifest_or_none(self, name: str, reference: str) -> Manifest | None:
        """The manifest of name at reference, or None if there is none (one request)."""
        response = self.request("GET", f"/v2/{name}/manifests/{reference}", (200, 404),
                                headers={"Accept": ", ".join(MANIFEST_TYPES)})
        if response.status_code == 404:
            return None
        return Manifest(response.headers.get("Docker-Content-Digest", ""),
                        response.headers.get("Content-Type", ""), response.content)

    def manifest_digest(self, name: str, reference: str) -> str | None:
        """The digest name:reference points at, or None if there is no such manifest."""
        response = self.request("HEAD", f"/v2/{name}/manifests/{reference}", (200, 404),
                                headers={"Accept": ", ".join(MANIFEST_TYPES)})
        return response.headers.get("Docker-Content-Digest") if response.ok else None

    def tags(self, name: str) -> list[str]:
        """The tags of a repository (none if the registry does not know it)."""
        response = self.request("GET", f"/v2/{name}/tags/list", (200, 404))
        return list(response.json().get("tags") or []) if response.ok else []

    def put_manifest(self, name: str, reference: str, manifest: Manifest) -> str:
        """Store the identical manifest bytes under reference; returns the registry's digest."""
        response = self.request("PUT", f"/v2/{name}/manifests/{reference}", (201,),
                                data=manifest.raw,
                                headers={"Content-Type": manifest.media_type})
        return response.headers.get("Docker-Content-Digest", "")

    def has_blob(self, name: str, digest: str) -> bool:
        """True if the repository already links the blob."""
        response = self.request("HEAD", f"/v2/{name}/blobs/{digest}", (200, 404))
        return response.status_code == 200

    def mount_blob(self, name: str, digest: str, source: str) -> str | None:
        """Mount a blob from another repository; None if mounted, else the upload URL (202)."""
        response = self.request("POST", f"/v2/{name}/blobs/uploads/", (201, 202),
                                params={"mount": digest, "from": source})
        if response.status_code == 201:
            return None
        return self._location(response)

    def start_upload(self, name: str) -> str:
        """Open an upload session; returns its URL."""
        return self._location(self.request("POST", f"/v2/{name}/blobs/uploads/", (202,)))

    def cancel_upload(self, upload_url: str) -> None:
        """Give up an upload session (the registry forgets what it held)."""
        self.request("DELETE", upload_url, (204, 404), attempts=1)

    def upload_blob(self, upload_url: str, digest: str, chunks: Iterator[bytes]) -> None:
        """Finish an upload session with the whole blob streamed in one PUT (not retried: a
        stream cannot be replayed; the caller starts a new session instead)."""
        joiner = "&" if "?" in upload_url else "?"
        self.request("PUT", f"{upload_url}{joiner}digest={digest}", (201,), attempts=1,
                     data=chunks, headers={"Content-Type": "application/octet-stream"})

    def blob_chunks(self, name: str, digest: str) -> Iterator[bytes]:
        """The blob's bytes, streamed."""
        response = self.request("GET", f"/v2/{name}/blobs/{digest}", (200,), stream=True)
        with response:
            yield from response.iter_content(CHUNK)

    def _location(self, response: requests.Response) -> str:
        location = response.headers.get("Location")
        if not location:
            raise RegistryError(f"{response.request.method} {response.url} gave no Location")
        return urljoin(self.base_url + "/", location)


class BearerAuth:
    """The registry token protocol, client side: a token covering every scope asked so far."""

    def __init__(self, http: requests.Session, credentials: tuple[str, str] | None,
                 verify: str | bool = True,
                 proxies: Callable[[str], dict[str, str]] = lambda url: {}):
        self.http = http
        self.credentials = credentials
        self.verify = verify
        self.proxies = proxies
        self.scopes: set[str] = set()
        self.challenge: dict[str, str] = {}
        self.token = ""
        self.expires_at = 0.0

    def header(self) -> dict[str, str]:
        """The Authorization header, renewing a token about to expire."""
        if self.token and time.time() > self.expires_at - REFRESH_MARGIN:
            self.renew(self.challenge, 30)
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}

    def renew(self, challenge: dict[str, str], timeout: float) -> None:
        """Ask the realm of a challenge for a token covering its scope and earlier ones."""
        self.challenge = {**self.challenge, **challenge}
        self.scopes.update(challenge.get("scope", "").split())
        realm = self.challenge.get("realm")
        if not realm:
            raise RegistryError("the registry asked for a token but named no realm")
        try:
            response = self.http.get(realm, timeout=timeout, auth=self.credentials,
                                     verify=self.verify, proxies=self.proxies(realm),
                                     params={"service": self.challenge.get("service", ""),
                                             "scope": sorted(self.scopes)})
        except requests.RequestException as exc:
            raise RegistryError(f"the token service at {realm} did not answer ({exc})") from exc
        if response.status_code != 200:
            raise RegistryError(f"the token service at {realm} answered "
                                f"{response.status_code}: {response.text[:200]}")
        body = response.json()
        self.token = body.get("token") or body.get("access_token", "")
        self.expires_at = time.time() + int(body.get("expires_in") or 60)
