"""The proof formats' pure rules: DSSE's PAE, simple signing's strict shape, cosign's tags."""

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from provenance import formats, slsa
from provenance.keys import ImageSigner, verifies

DIGEST = "sha256:" + "ab" * 32


def test_the_dsse_pae_test_vector_holds():
    assert formats.pae("http://example.com/HelloWorld", b"hello world") == \
        b"DSSEv1 29 http://example.com/HelloWorld 11 hello world"


def test_a_simple_signing_payload_round_trips_and_is_signed_over_its_exact_bytes():
    signer = ImageSigner(ec.generate_private_key(ec.SECP256R1()))
    payload = formats.simple_signing_payload("reg/production/acme/web", DIGEST, {"build": "1"})
    assert formats.parse_simple_signing(payload) == ("reg/production/acme/web", DIGEST)
    signature = signer.sign(payload)
    public = signer.private_key.public_key()
    assert verifies(public, signature, payload)
    assert not verifies(public, signature, payload.replace(b"acme", b"acne"))


@pytest.mark.parametrize("critical", [
    {"type": formats.SIGNATURE_TYPE, "image": {"docker-manifest-digest": DIGEST},
     "identity": {"docker-reference": "r"}, "extra": 1},
    {"type": "something else", "image": {"docker-manifest-digest": DIGEST},
     "identity": {"docker-reference": "r"}},
    {"type": formats.SIGNATURE_TYPE, "image": {"docker-manifest-digest": DIGEST, "x": 1},
     "identity": {"docker-reference": "r"}},
    {"type": formats.SIGNATURE_TYPE, "identity": {"docker-reference": "r"}},
])
def test_containers_image_strict_rules_refuse_other_payload_shapes(critical):
    with pytest.raises(formats.FormatError):
        formats.parse_simple_signing(formats.canonical({"critical": critical, "optional": {}}))


def test_proof_tags_follow_cosigns_scheme_and_are_told_apart_from_image_tags():
    assert formats.signature_tag(DIGEST) == "sha256-" + "ab" * 32 + ".sig"
    assert formats.attestation_tag(DIGEST) == "sha256-" + "ab" * 32 + ".att"
    assert formats.is_proof_tag(formats.signature_tag(DIGEST))
    assert not formats.is_proof_tag("latest") and not formats.is_proof_tag("sha256-ab.sig")


def test_the_provenance_names_the_commit_the_base_images_and_the_byproducts():
    facts = slsa.BuildFacts(
        build_id="b1", repository="acme/web", ref="refs/heads/main", clone_url="/srv/web.git",
        commit_sha="c" * 40, dockerfile="Dockerfile", context=".", target=None,
        build_args={"A": "1"}, builder="legacy", limits={"pids": 100}, network="none",
        builder_id="https://lockmaster.example/builder", started_on="2026-01-01T00:00:00Z",
        finished_on="2026-01-01T00:01:00Z", base_images=[("busybox:local", DIGEST)],
        sbom_digest=DIGEST, log_digest=DIGEST)
    predicate = slsa.provenance(facts)
    dependencies = predicate["buildDefinition"]["resolvedDependencies"]
    assert dependencies[0] == {"uri": "git+/srv/web.git@refs/heads/main",
                               "digest": {"gitCommit": "c" * 40}}
    assert dependencies[1]["digest"] == {"sha256": "ab" * 32}
    assert slsa.git_commit(predicate) == "c" * 40
    assert slsa.byproduct_digest(predicate, "sbom") == DIGEST
    assert predicate["runDetails"]["metadata"]["invocationId"] == "b1"
