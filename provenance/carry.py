"""Bringing an image's proofs along a promotion: `.att` byte for byte, `.sig` plus a layer
signed for the target repository's reference."""

from __future__ import annotations

import json

from provenance import formats
from provenance.attach import push_manifest, signature_layer
from provenance.formats import Layer
from provenance.keys import ImageSigner
from registry.client import RegistryClient
from registry.copy import copy_blob, copy_image


def carry(client: RegistryClient, source: str, target: str, reference: str, digest: str,
          signer: ImageSigner, optional: dict) -> dict:
    """Put the proofs of digest in target (nothing that is there already is added again);
    returns the target's signature and attestation digests."""
    att_tag, sig_tag = formats.attestation_tag(digest), formats.signature_tag(digest)
    attestation = client.manifest(source, att_tag)
    if source != target:
        copy_image(client, source, client, target, attestation.digest)
        client.put_manifest(target, att_tag, attestation)
    return {"signature": _signature(client, source, target, reference, digest, signer,
                                    optional),
            "attestation": attestation.digest, "tags": [sig_tag, att_tag]}


def _signature(client: RegistryClient, source: str, target: str, reference: str, digest: str,
               signer: ImageSigner, optional: dict) -> str:
    """The target's `.sig`: the source's layers unchanged, plus one for reference if none of
    them binds it yet."""
    tag = formats.signature_tag(digest)
    manifest = client.manifest(source, tag)
    layers = json.loads(manifest.raw)["layers"]
    if any(_binds(client, source, layer, reference) for layer in layers):
        if source != target:
            copy_image(client, source, client, target, manifest.digest)
            client.put_manifest(target, tag, manifest)
        return manifest.digest
    kept = [Layer(layer["mediaType"], _blob(client, source, target, layer["digest"]),
                  layer.get("annotations") or {}) for layer in layers]
    return push_manifest(client, target, tag,
                         [*kept, signature_layer(signer, reference, digest, optional)])


def _binds(client: RegistryClient, name: str, layer: dict, reference: str) -> bool:
    payload = b"".join(client.blob_chunks(name, layer["digest"]))
    return formats.parse_simple_signing(payload)[0] == reference


def _blob(client: RegistryClient, source: str, target: str, digest: str) -> bytes:
    """A small blob's bytes, linked into target too."""
    copy_blob(client, source, client, target, digest)
    return b"".join(client.blob_chunks(source, digest))

