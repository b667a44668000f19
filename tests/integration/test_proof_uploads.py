"""The proofs' blob uploads opened ahead (while the image builds), against the real registry:
used by the proofs, replaced when the registry forgot one, cancelled when left over."""

from __future__ import annotations

import json
import os
import uuid

import requests
from cryptography.hazmat.primitives.asymmetric import ec

from devstack.services import REGISTRY_ADDR
from distribution.client import RegistryClient
from provenance import formats
from provenance.attach import Predicate, UploadSlots, attach
from provenance.keys import ImageSigner

BASE = f"http://{REGISTRY_ADDR}"


def _open(url: str) -> bool:
    """True while the registry still holds the upload session at url."""
    status = requests.get(url, timeout=10).status_code
    assert status in (204, 404), status
    return status == 204


def _proofs(slots: UploadSlots | None, name: str) -> tuple[str, list[dict]]:
    """Attach a signature and one attestation of a made-up digest; (digest, manifests)."""
    digest = formats.sha256_digest(os.urandom(32))
    client = RegistryClient(BASE)
    signer = ImageSigner(ec.generate_private_key(ec.SECP256R1()))
    attach(client, name, f"{REGISTRY_ADDR}/{name}", digest, signer,
           [Predicate("https://example.com/predicate", {"n": 1})], {"build": "b1"}, slots)
    manifests = [json.loads(client.manifest(name, tag).raw)
                 for tag in (formats.signature_tag(digest), formats.attestation_tag(digest))]
    return digest, manifests


def _blobs_served(name: str, manifests: list[dict]) -> None:
    for manifest in manifests:
        for descriptor in [manifest["config"], *manifest["layers"]]:
            response = requests.get(f"{BASE}/v2/{name}/blobs/{descriptor['digest']}",
                                    timeout=10)
            assert response.status_code == 200
            assert formats.sha256_digest(response.content) == descriptor["digest"]


def test_proofs_use_the_sessions_opened_ahead_and_fall_back_when_too_few():
    name = f"lockmaster-test/slots-{uuid.uuid4().hex[:8]}"
    slots = UploadSlots(RegistryClient(BASE), name, 3)  # the proofs need 4 blobs
    ahead = slots.opened(wait=True)
    assert len(ahead) == 3 and all(_open(url) for url in ahead)

    _digest, manifests = _proofs(slots, name)

    assert not any(_open(url) for url in ahead)  # each one finished with a blob
    _blobs_served(name, manifests)
    assert slots.take() is None


def test_a_session_the_registry_forgot_costs_a_new_one_not_the_proof():
    name = f"lockmaster-test/slots-{uuid.uuid4().hex[:8]}"
    client = RegistryClient(BASE)
    slots = UploadSlots(client, name, 4)
    ahead = slots.opened(wait=True)
    client.cancel_upload(ahead[0])  # as a registry restarted without a fixed http.secret
    client.cancel_upload(ahead[2])

    _digest, manifests = _proofs(slots, name)

    _blobs_served(name, manifests)
    assert not any(_open(url) for url in ahead)


def test_sessions_left_over_are_cancelled_and_none_is_given_after():
    name = f"lockmaster-test/slots-{uuid.uuid4().hex[:8]}"
    slots = UploadSlots(RegistryClient(BASE), name, 3)
    ahead = slots.opened(wait=True)
    used, left = slots.take(), ahead[1:]
    assert used == ahead[0] and all(_open(url) for url in left)

    slots.close().result(timeout=30)

    assert not any(_open(url) for url in left)
    assert _open(used)  # taken: its owner finishes (or drops) it
    assert slots.take() is None


def test_a_registry_that_refuses_sessions_leaves_the_proofs_their_own_way():
    """Sessions that could not be opened ahead (the registry was away then) are no error:
    each blob opens its own when the proofs are made."""
    slots = UploadSlots(RegistryClient("http://127.0.0.1:9", attempts=1), "x/y", 2)
    assert slots.take() is None
    name = f"lockmaster-test/slots-{uuid.uuid4().hex[:8]}"
    _digest, manifests = _proofs(slots, name)
    _blobs_served(name, manifests)
