"""The proof verifier's rules on proofs held in memory: what it accepts, and every malformed or
mismatching proof refused with a ProofError (never another exception: a promotion reading a
hostile `.att` must fail with a reason, not crash)."""

import json

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from provenance import formats, slsa
from provenance.attach import Predicate, envelope_layer, signature_layer
from provenance.keys import ImageSigner
from provenance.sources import MAX_LAYERS
from provenance.verify import Expected, ProofError, verify_image

DIGEST = "sha256:" + "ab" * 32
REFERENCE = "127.0.0.1:5000/staging/acme/web"
BUILDER = "https://lockmaster.example/builders/main"
COMMIT = "c0ffee" * 6 + "c0ff"
SBOM = json.dumps({"bomFormat": "CycloneDX", "specVersion": "1.5", "components": []}).encode()


class MemorySource:
    """Proof manifests by tag and blobs by digest, as a registry would serve them."""

    def __init__(self):
        self.manifests: dict[str, bytes] = {}
        self.blobs: dict[str, bytes] = {}

    def manifest(self, tag: str) -> bytes | None:
        return self.manifests.get(tag)

    def blob(self, digest: str) -> bytes:
        return self.blobs[digest]

    def put(self, tag: str, layers: list[formats.Layer]) -> None:
        raw, config = formats.proof_manifest(layers)
        self.manifests[tag] = raw
        for data in (config, *(layer.data for layer in layers)):
            self.blobs[formats.sha256_digest(data)] = data

    def replace_blob(self, tag: str, index: int, data: bytes) -> None:
        """Point layer `index` of tag's manifest at new bytes (a re-pushed proof)."""
        document = json.loads(self.manifests[tag])
        document["layers"][index]["digest"] = formats.sha256_digest(data)
        self.blobs[formats.sha256_digest(data)] = data
        self.manifests[tag] = json.dumps(document).encode()


def _facts(**changed) -> slsa.BuildFacts:
    facts = {"build_id": "b-1", "repository": "acme/web", "ref": "refs/heads/main",
             "clone_url": "https://git.example/acme/web.git", "commit_sha": COMMIT,
             "dockerfile": "Dockerfile", "context": ".", "target": None, "build_args": {},
             "builder": "buildkit", "limits": {}, "network": "none", "builder_id": BUILDER,
             "started_on": "2026-12-03T08:00:00Z", "finished_on": "2026-12-03T08:00:01Z",
             "sbom_digest": formats.sha256_digest(SBOM)}
    return slsa.BuildFacts(**{**facts, **changed})


def _signed(signer: ImageSigner, facts: slsa.BuildFacts | None = None,
            sbom: bytes | None = SBOM) -> MemorySource:
    source = MemorySource()
    source.put(formats.signature_tag(DIGEST),
               [signature_layer(signer, REFERENCE, DIGEST, {"build": "b-1"})])
    predicates = [Predicate(formats.SLSA_PROVENANCE_V1, slsa.provenance(facts or _facts()))]
    if sbom is not None:
        predicates.append(Predicate(formats.CYCLONEDX, json.loads(sbom)))
    source.put(formats.attestation_tag(DIGEST),
               [envelope_layer(signer, REFERENCE, DIGEST, p) for p in predicates])
    return source


def _expected(**changed) -> Expected:
    return Expected(**{"reference": REFERENCE, "digest": DIGEST, "builder_id": BUILDER,
                       "commit_sha": COMMIT, "sbom": SBOM, "sbom_expected": True, **changed})


@pytest.fixture
def signer():
    return ImageSigner(ec.generate_private_key(ec.SECP256R1()))


@pytest.fixture
def keys(signer):
    return {signer.key_id: signer.private_key.public_key()}


def test_proofs_made_for_the_record_verify(signer, keys):
    verified = verify_image(_signed(signer), keys, _expected())
    assert verified.lines[0].startswith(f"signature: {REFERENCE}@{DIGEST} signed by key")
    assert f"provenance: builder {BUILDER}, commit {COMMIT}" in verified.lines
    assert set(verified.statements) == {formats.SLSA_PROVENANCE_V1, formats.CYCLONEDX}


@pytest.mark.parametrize(("facts", "expected", "says"), [
    ({"builder_id": "https://elsewhere.example/builder"}, {},
     "provenance by builder https://elsewhere.example/builder"),
    ({"commit_sha": "1" * 40}, {}, f"provenance names commit {'1' * 40}, the record {COMMIT}"),
    ({}, {"sbom": SBOM.replace(b"1.5", b"1.6")}, "is not the build's SBOM"),
    ({}, {"sbom": None, "sbom_expected": False}, "there but none was made"),
], ids=["builder", "commit", "sbom", "sbom-unexpected"])
def test_proofs_that_disagree_with_the_record_are_refused(signer, keys, facts, expected, says):
    with pytest.raises(ProofError, match=says):
        verify_image(_signed(signer, _facts(**facts)), keys, _expected(**expected))


def test_a_missing_sbom_attestation_is_refused_when_the_build_made_one(signer, keys):
    with pytest.raises(ProofError, match="the SBOM attestation is missing"):
        verify_image(_signed(signer, _facts(sbom_digest=None), sbom=None), keys, _expected())


def test_proofs_by_an_unknown_key_are_refused(signer):
    other = ImageSigner(ec.generate_private_key(ec.SECP256R1()))
    with pytest.raises(ProofError, match="not by a trusted key"):
        verify_image(_signed(signer), {other.key_id: other.private_key.public_key()},
                     _expected())


def test_a_signature_for_another_digest_is_refused(signer, keys):
    source = _signed(signer)
    other = "sha256:" + "cd" * 32
    source.put(formats.signature_tag(DIGEST),
               [signature_layer(signer, REFERENCE, other, {})])
    with pytest.raises(ProofError, match=f"the signature is for {other}"):
        verify_image(source, keys, _expected())


ATT = formats.attestation_tag(DIGEST)
SIG = formats.signature_tag(DIGEST)
DEEP = b"[" * 100_000 + b"]" * 100_000


@pytest.mark.parametrize(("tag", "blob"), [
    (ATT, b"[]"), (ATT, b"\"an envelope\""), (ATT, b"{not json"), (ATT, DEEP),
    (ATT, json.dumps({"payloadType": formats.IN_TOTO_PAYLOAD, "payload": 7}).encode()),
    (ATT, json.dumps({"payloadType": formats.IN_TOTO_PAYLOAD, "payload": "",
                      "signatures": ["not an object"]}).encode()),
    (SIG, b"[]"), (SIG, DEEP), (SIG, b"\xff\xfe"),
], ids=["att-list", "att-string", "att-not-json", "att-deep", "att-payload-number",
        "att-signature-string", "sig-list", "sig-deep", "sig-not-utf8"])
def test_a_malformed_proof_blob_is_refused_not_a_crash(signer, keys, tag, blob):
    source = _signed(signer)
    source.replace_blob(tag, 0, blob)
    with pytest.raises(ProofError):
        verify_image(source, keys, _expected())


@pytest.mark.parametrize("manifest", [
    b"[]", b"null", DEEP, json.dumps({"layers": "none"}).encode(),
    json.dumps({"layers": ["sha256:" + "ab" * 32]}).encode(),
    json.dumps({"layers": [{"mediaType": formats.DSSE_ENVELOPE}]}).encode(),
], ids=["list", "null", "deep", "layers-string", "layer-string", "layer-without-digest"])
def test_a_malformed_attestation_manifest_is_refused_not_a_crash(signer, keys, manifest):
    source = _signed(signer)
    source.manifests[ATT] = manifest
    with pytest.raises(ProofError):
        verify_image(source, keys, _expected())


def test_a_manifest_of_more_layers_than_any_promotion_chain_makes_is_refused(signer, keys):
    source = _signed(signer)
    document = json.loads(source.manifests[SIG])
    document["layers"] = document["layers"] * (MAX_LAYERS + 1)
    source.manifests[SIG] = json.dumps(document).encode()
    with pytest.raises(ProofError, match=f"not a list of at most {MAX_LAYERS}"):
        verify_image(source, keys, _expected())
