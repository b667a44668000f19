"""Writing an image's proofs next to it: the `.sig` and `.att` manifests of cosign's scheme."""

from __future__ import annotations

import contextlib
import json
import threading
from concurrent.futures import Future
from dataclasses import dataclass

from distribution.client import Manifest, RegistryClient, RegistryError
from distribution.parallel import pool, wait_all
from provenance import formats
from provenance.formats import Layer
from provenance.keys import ImageSigner


@dataclass(frozen=True)
class Predicate:
    """One attestation to make: its predicate type and predicate document."""

    predicate_type: str
    document: dict


@dataclass(frozen=True)
class Attached:
    """The digests of the proof manifests now in the registry."""

    signature: str
    attestation: str
    envelopes: dict  # predicate type → digest of its DSSE envelope blob

    def record(self) -> dict:
        """The lineage record's view of these proofs."""
        return {"signature": self.signature, "attestation": self.attestation,
                "envelopes": dict(self.envelopes)}


def signature_layer(signer: ImageSigner, reference: str, digest: str, optional: dict) -> Layer:
    """A simple-signing layer binding reference to digest, signed in its annotation."""
    payload = formats.simple_signing_payload(reference, digest, optional)
    return Layer(formats.SIMPLE_SIGNING, payload,
                 {formats.SIGNATURE_ANNOTATION: formats.b64(signer.sign(payload))})


def envelope_layer(signer: ImageSigner, name: str, digest: str, predicate: Predicate) -> Layer:
    """A DSSE envelope layer of an in-toto Statement about digest."""
    payload = formats.statement(digest, name, predicate.predicate_type, predicate.document)
    signature = signer.sign(formats.pae(formats.IN_TOTO_PAYLOAD, payload))
    body = json.dumps(formats.envelope(payload, signer.key_id, signature)).encode()
    return Layer(formats.DSSE_ENVELOPE, body,
                 {formats.PREDICATE_ANNOTATION: predicate.predicate_type,
                  formats.SIGNATURE_ANNOTATION: ""})


class UploadSlots:
    """Blob upload sessions opened ahead, while the image builds: a proof's blob then takes
    one request on the way to staging instead of two. The proofs never wait for them: until
    they are all open (or if the registry refused them), each blob opens its own. A session
    the proofs did not use is cancelled by close(); one the registry no longer knows
    (restarted without a fixed `http.secret`) costs a fresh session, never the proof."""

    def __init__(self, client: RegistryClient, name: str, count: int):
        self.client, self.name = client, name
        self._opening = pool().submit(self._open, count)
        self._lock = threading.Lock()
        self._taken = 0

    def _open(self, count: int) -> list[str]:
        opened: list[str] = []
        with contextlib.suppress(RegistryError):  # those open so far are used or cancelled
            for _ in range(count):
                opened.append(self.client.start_upload(self.name))
        return opened

    def opened(self, wait: bool = False) -> list[str]:
        """The URLs of the sessions opened ahead: none while they are being opened, unless
        `wait`."""
        return self._opening.result() if wait or self._opening.done() else []

    def take(self) -> str | None:
        """An open session's URL, or None when none is (or is yet) left."""
        opened = self.opened()
        with self._lock:
            if self._taken >= len(opened):
                return None
            self._taken += 1
            return opened[self._taken - 1]

    def close(self) -> Future:
        """Cancel the sessions nobody took, in the background (nothing needs to wait)."""
        def cancel_unused() -> None:
            opened = self.opened(wait=True)
            with self._lock:
                left, self._taken = opened[self._taken:], len(opened)
            for url in left:
                with contextlib.suppress(RegistryError):
                    self.client.cancel_upload(url)

        return pool().submit(cancel_unused)


def attach(client: RegistryClient, name: str, reference: str, digest: str,
           signer: ImageSigner, predicates: list[Predicate], optional: dict,
           slots: UploadSlots | None = None) -> Attached:
    """Sign digest for reference and attest it; push both manifests into repository name
    (their blobs through `slots` while it has sessions)."""
    signing = pool().submit(push_manifest, client, name, formats.signature_tag(digest),
                            [signature_layer(signer, reference, digest, optional)],
                            slots=slots)
    layers = [envelope_layer(signer, reference, digest, p) for p in predicates]
    att = push_manifest(client, name, formats.attestation_tag(digest), layers, slots=slots)
    sig = signing.result()  # both pushed side by side
    return Attached(sig, att, {p.predicate_type: formats.sha256_digest(layer.data)
                               for p, layer in zip(predicates, layers, strict=True)})


def push_manifest(client: RegistryClient, name: str, tag: str, layers: list[Layer],
                  linked: frozenset[str] = frozenset(), waiting: list[Future] = (),
                  slots: UploadSlots | None = None) -> str:
    """Upload the layers and config (but those already linked) side by side, wait for them
    and for `waiting`, then put the manifest under tag; returns its digest. A signature or an
    envelope is new bytes: no HEAD asks first."""
    raw, config = formats.proof_manifest(layers)
    blobs = [b for b in [config, *(layer.data for layer in layers)]
             if formats.sha256_digest(b) not in linked]
    wait_all([*waiting, *(pool().submit(push_blob, client, name, b, slots) for b in blobs)])
    return client.put_manifest(name, tag, Manifest(formats.sha256_digest(raw),
                                                   formats.OCI_MANIFEST, raw))


def push_blob(client: RegistryClient, name: str, data: bytes,
              slots: UploadSlots | None = None) -> None:
    """Put one small blob in the repository (storing it again is harmless), in a session
    opened ahead if there is one left."""
    digest = formats.sha256_digest(data)
    opened = slots.take() if slots is not None else None
    if opened is not None:
        try:
            client.upload_blob(opened, digest, iter([data]))
            return
        except RegistryError:  # the session is gone: a new one below
            pass
    client.upload_blob(client.start_upload(name), digest, iter([data]))
