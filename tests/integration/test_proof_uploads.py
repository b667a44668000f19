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
from provenance.slsa import GATES_PREDICATE
from tests.support.buildhelpers import push
from tests.support.promotionkit import PASSWORD, add_people
from tests.support.registryproxy import Faults, RegistryProxy
from tests.support.stack import repo_entry, work

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


def test_a_build_whose_proofs_the_registry_refuses_is_not_staged(make_app, source_repo, secret,
                                                                  registry_prefix):
    """Signing is part of the push stage: no `staged` without the `.sig` and `.att`; a retry
    once the registry takes them stages the same image, signed."""
    with RegistryProxy(Faults(proof_put_errors=100)) as proxy:
        app = make_app([repo_entry(source_repo)],
                       registry={"url": proxy.address, "insecure": True,
                                 "staging": f"{registry_prefix}/staging",
                                 "production": f"{registry_prefix}/production"})
        client = app.test_client()
        build_id = push(client, source_repo, secret)
        work(app)
        refused = client.get(f"/api/v1/builds/{build_id}").get_json()
        assert refused["status"] == "failed" and refused["failed_stage"] == "push"
        assert "the registry refused the image's signature or attestations" in \
            refused["error"], refused["error"]
        assert refused["image"] is None and not (refused.get("proof") or {}).get("signed")
        assert any(seen.startswith("PUT") and seen.endswith((".sig", ".att"))
                   for seen in proxy.faults.seen)

        proxy.faults.proof_put_errors = 0
        retried = client.post(f"/api/v1/builds/{build_id}/retry")
        assert retried.status_code == 201, retried.text
        work(app)
        staged = client.get(f"/api/v1/builds/{retried.get_json()['id']}").get_json()
    assert staged["status"] == "staged", staged["error"]
    digest, name = staged["image"]["digest"], f"{registry_prefix}/staging/acme/web"
    registry = RegistryClient(BASE)
    assert registry.manifest(name, formats.signature_tag(digest)).digest == \
        staged["proof"]["signature"]
    assert registry.manifest(name, formats.attestation_tag(digest)).digest == \
        staged["proof"]["attestation"]


def test_a_build_whose_gates_make_no_sbom_attests_none_and_its_page_says_so(
        make_app, source_repo, secret, registry_prefix):
    app = make_app([repo_entry(source_repo, checks={"sbom": {"enabled": False},
                                                    "vulnerabilities": {"enabled": False}})])
    add_people(app)
    client = app.test_client()
    build_id = push(client, source_repo, secret)
    work(app)
    build = client.get(f"/api/v1/builds/{build_id}").get_json()
    assert build["status"] == "staged", build["error"]
    assert build["proof"]["signed"] and not build["proof"]["sbom_attested"]
    name, digest = f"{registry_prefix}/staging/acme/web", build["image"]["digest"]
    registry = RegistryClient(BASE)
    attestation = json.loads(registry.manifest(name, formats.attestation_tag(digest)).raw)
    assert [layer["annotations"][formats.PREDICATE_ANNOTATION]
            for layer in attestation["layers"]] == [formats.SLSA_PROVENANCE_V1, GATES_PREDICATE]
    assert "no SBOM attestation" in _build_page(app, build_id)


def _build_page(app, build_id: str) -> str:
    web = app.test_client()
    token = web.get("/login").text.split('name="csrf_token" type="hidden" value="')[1] \
        .split('"')[0]
    web.post("/login", data={"username": "erin", "password": PASSWORD, "csrf_token": token})
    return web.get(f"/builds/{build_id}").get_data(as_text=True)
