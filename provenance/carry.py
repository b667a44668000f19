"""Bringing an image's proofs along a promotion: `.att` byte for byte, `.sig` plus a layer
signed for the target repository's reference."""

from __future__ import annotations

import json

from distribution.client import Manifest, RegistryClient
from distribution.copy import copy_blob
from distribution.parallel import pool, wait_all
from provenance import formats
from provenance.attach import UploadSlots, push_manifest, signature_layer
from provenance.formats import Layer
from provenance.keys import ImageSigner
from provenance.verify import Verified


def carry(client: RegistryClient, source: str, target: str, reference: str, digest: str,
          signer: ImageSigner, optional: dict, known: Verified | None = None,
          slots: UploadSlots | None = None) -> dict:
    """Put the proofs of digest in target (nothing that is there already is added again);
    `known` is what verifying the source read, so it is not read twice; `slots` are upload
    sessions in target opened ahead. Returns the target's signature and attestation digests
    and the proof tags."""
    known = known or Verified()
    att_tag, sig_tag = formats.attestation_tag(digest), formats.signature_tag(digest)
    attestation = _manifest(client, source, att_tag, known)
    copied = pool().submit(_copy, client, source, target, att_tag, attestation) \
        if source != target else None
    signature = _signature(client, source, target, reference, digest, signer, optional, known,
                           slots)
    if copied:
        copied.result()
    return {"signature": signature, "attestation": attestation.digest,
            "tags": [sig_tag, att_tag]}


def _signature(client: RegistryClient, source: str, target: str, reference: str, digest: str,
               signer: ImageSigner, optional: dict, known: Verified,
               slots: UploadSlots | None) -> str:
    """The target's `.sig`: the source's layers unchanged, plus one for reference if none of
    them binds it yet."""
    tag = formats.signature_tag(digest)
    manifest = _manifest(client, source, tag, known)
    layers = json.loads(manifest.raw)["layers"]
    payloads = {layer["digest"]: known.payloads.get(layer["digest"])
                or b"".join(client.blob_chunks(source, layer["digest"])) for layer in layers}
    if any(formats.parse_simple_signing(p)[0] == reference for p in payloads.values()):
        if source != target:
            _copy(client, source, target, tag, manifest)
        return manifest.digest
    linking = [pool().submit(copy_blob, client, source, client, target, layer["digest"])
               for layer in layers if source != target]
    kept = [Layer(layer["mediaType"], payloads[layer["digest"]], layer.get("annotations") or {})
            for layer in layers]
    return push_manifest(client, target, tag,
                         [*kept, signature_layer(signer, reference, digest, optional)],
                         linked=frozenset(payloads), waiting=linking, slots=slots)


def _manifest(client: RegistryClient, name: str, tag: str, known: Verified) -> Manifest:
    raw = known.manifests.get(tag)
    if raw is None:
        return client.manifest(name, tag)
    return Manifest(formats.sha256_digest(raw), json.loads(raw).get("mediaType",
                                                                    formats.OCI_MANIFEST), raw)


def _copy(client: RegistryClient, source: str, target: str, tag: str,
          manifest: Manifest) -> None:
    """Link the manifest's blobs into target (side by side) and put the same bytes under tag."""
    document = json.loads(manifest.raw)
    digests = [blob["digest"] for blob in [document["config"], *document.get("layers", [])]]
    wait_all([pool().submit(copy_blob, client, source, client, target, d) for d in digests])
    client.put_manifest(target, tag, manifest)
