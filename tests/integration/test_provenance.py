"""Signed provenance end to end: a real build is staged with its .sig and .att, independent
tools (openssl, securesystemslib, the in-toto protobuf bindings) verify them, tampering is
refused, and promotion carries the proofs to production."""

import base64
import hashlib
import json
import subprocess
from datetime import datetime

from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from google.protobuf import json_format
from in_toto_attestation.predicates.provenance.v1 import provenance_pb2
from in_toto_attestation.v1 import statement_pb2
from in_toto_attestation.v1.statement import Statement
from securesystemslib.dsse import Envelope
from securesystemslib.signer import SSlibKey

from devstack.services import REGISTRY_ADDR
from distribution.client import Manifest, RegistryClient
from promotion.decisions import decide
from provenance import formats, slsa
from provenance.attach import push_blob
from provenance.keys import ImageSigner, public_pem
from provenance.keystore import trusted_keys
from provenance.sources import RegistrySource
from provenance.verify import Expected, ProofError, verify_image
from record.audit import AuditEvent
from record.models import Build
from record.promotions import Promotion
from tests.support.buildhelpers import LOCKMASTER, lockmaster_env, push
from tests.support.promotionkit import PASSWORD, add_people, stage
from tests.support.stack import repo_entry, work

REGISTRY = RegistryClient(f"http://{REGISTRY_ADDR}")


def test_a_staged_image_carries_proofs_that_other_tools_verify_and_promotion_checks(
        make_app, source_repo, secret, tmp_path, registry_prefix, base_image, docker_client):
    app = make_app([repo_entry(source_repo, promotion={"tags": ["latest"]})])
    add_people(app)
    client = app.test_client()
    build_id, commit = push(client, source_repo, secret), source_repo.head
    work(app)
    build = client.get(f"/api/v1/builds/{build_id}").get_json()
    assert build["status"] == "staged", build["error"]
    proof, digest = build["proof"], build["image"]["digest"]
    assert proof["signed"] and proof["sbom_attested"] and proof["provenance"]
    staging = f"{registry_prefix}/staging/acme/web"
    keys = client.get("/api/v1/signing-keys", headers={"Authorization": ""}).get_json()["keys"]
    assert [k["status"] for k in keys] == ["active"] and keys[0]["id"] == proof["key_id"]
    pem = tmp_path / "lockmaster.pub"
    pem.write_text(keys[0]["public_key"])

    sig = REGISTRY.manifest(staging, formats.signature_tag(digest))
    att = REGISTRY.manifest(staging, formats.attestation_tag(digest))
    assert (sig.digest, att.digest) == (proof["signature"], proof["attestation"])
    _check_signature(tmp_path, staging, sig, digest, pem)
    builder = getattr(app.extensions["lockmaster"].settings.repository_named("acme/web"),
                      "builder", "legacy")  # the repository's `builder` setting, once it exists
    _check_attestations(tmp_path, staging, att, digest, keys[0], pem, source_repo.head, builder)
    _check_provenance_facts(app, build_id, staging, att, base_image,
                            docker_client.images.get(base_image).id)

    page = _page(app, build_id)
    assert "signed" in page and proof["signature"] in page and "SBOM attested" in page

    _tampering_is_refused(app, tmp_path, staging, digest, sig, att, source_repo)

    assert decide(app.extensions["lockmaster"], build_id, "carol", "approve", digest,
                  "ok").status == "approved"
    work(app)
    promotion = _promotions(app)[-1]
    assert promotion.status == "promoted", promotion.reason
    production = f"{registry_prefix}/production/acme/web"
    assert REGISTRY.manifest(production, formats.attestation_tag(digest)).raw == att.raw
    prod_sig = REGISTRY.manifest(production, formats.signature_tag(digest))
    staging_layers = json.loads(sig.raw)["layers"]
    layers = json.loads(prod_sig.raw)["layers"]
    assert len(layers) == 2 and layers[0] == staging_layers[0]
    payload = _blob(production, layers[1]["digest"])
    assert formats.parse_simple_signing(payload) == (f"{REGISTRY_ADDR}/{production}", digest)
    assert _openssl_verifies(tmp_path, pem, payload, layers[1]["annotations"][
        formats.SIGNATURE_ANNOTATION])
    assert promotion.proof["signature"] == prod_sig.digest
    assert promotion.proof["attestation"] == att.digest
    assert sorted(promotion.proof["tags"]) == [formats.attestation_tag(digest),
                                               formats.signature_tag(digest)]
    lineage = client.get(f"/api/v1/images/{digest}").get_json()  # what an auditor reads
    assert (lineage["build"]["proof"]["signature"], lineage["build"]["proof"]["attestation"]) \
        == (sig.digest, att.digest)
    assert lineage["promotions"][-1]["proof"]["signature"] == prod_sig.digest
    assert lineage["promotions"][-1]["proof"]["attestation"] == att.digest

    verified = _lockmaster("verify", f"{REGISTRY_ADDR}/{production}@{digest}", app=app)
    assert verified.returncode == 0, verified.stderr
    assert "provenance: builder" in verified.stdout
    assert f"record: commit {commit} is build {build_id}'s; the SBOM equals the " \
        "recorded one" in verified.stdout
    layout = tmp_path / "layout"
    for tag in (formats.signature_tag(digest), formats.attestation_tag(digest)):
        subprocess.run(["skopeo", "copy", "--quiet", "--preserve-digests", "--src-tls-verify=false",
                        f"docker://{REGISTRY_ADDR}/{production}:{tag}", f"oci:{layout}:{tag}"],
                       check=True, capture_output=True, timeout=60)
    offline = _lockmaster("verify", f"{REGISTRY_ADDR}/{production}@{digest}", "--key", str(pem),
                          "--layout", str(layout), app=app)
    assert offline.returncode == 0, offline.stderr
    # A deploy host with the key and the layout but none of Lockmaster's records.
    elsewhere = subprocess.run(
        [LOCKMASTER, "verify", f"{REGISTRY_ADDR}/{production}@{digest}", "--key", str(pem),
         "--layout", str(layout)], capture_output=True, text=True, timeout=120,
        env={**lockmaster_env(app),
             "LOCKMASTER_DATABASE_URL": f"sqlite:///{tmp_path / 'no-records.db'}"})
    assert elsewhere.returncode == 0, elsewhere.stderr
    assert "record: the build records cannot be read here" in elsewhere.stdout
    assert not (tmp_path / "no-records.db").exists()  # verifying made no empty database
    keyless = subprocess.run(
        [LOCKMASTER, "verify", f"{REGISTRY_ADDR}/{production}@{digest}", "--layout", str(layout)],
        capture_output=True, text=True, timeout=120,
        env={**lockmaster_env(app),
             "LOCKMASTER_DATABASE_URL": f"sqlite:///{tmp_path / 'no-records.db'}"})
    assert keyless.returncode == 1 and "give the public key with --key" in keyless.stderr
    assert "Traceback" not in keyless.stderr


def _check_signature(tmp_path, staging, sig, digest, pem):
    """cosign's signature spec, checked with openssl and containers/image's strict rules."""
    document = json.loads(sig.raw)
    assert sig.media_type == formats.OCI_MANIFEST and len(document["layers"]) == 1
    layer = document["layers"][0]
    assert layer["mediaType"] == "application/vnd.dev.cosign.simplesigning.v1+json"
    payload = _blob(staging, layer["digest"])
    critical = json.loads(payload)["critical"]
    assert set(critical) == {"type", "image", "identity"}
    assert critical == {"type": "cosign container image signature",
                        "image": {"docker-manifest-digest": digest},
                        "identity": {"docker-reference": f"{REGISTRY_ADDR}/{staging}"}}
    annotation = layer["annotations"]["dev.cosignproject.cosign/signature"]
    assert _openssl_verifies(tmp_path, pem, payload, annotation)
    other = tmp_path / "other.pub"
    other.write_text(public_pem(ec.generate_private_key(ec.SECP256R1()).public_key()))
    assert not _openssl_verifies(tmp_path, other, payload, annotation)
    assert not _openssl_verifies(tmp_path, pem, payload.replace(b"sha256:", b"sha256:0", 1)[:-1]
                                 + b"}", annotation)


def _check_attestations(tmp_path, staging, att, digest, key, pem, commit, builder):
    """Every DSSE envelope verifies with securesystemslib and openssl; the statements parse
    strictly with the in-toto protobuf bindings."""
    layers = json.loads(att.raw)["layers"]
    types = [layer["annotations"]["predicateType"] for layer in layers]
    assert types[:2] == [formats.SLSA_PROVENANCE_V1, formats.CYCLONEDX]
    public = SSlibKey.from_crypto(ec_public(key["public_key"]), keyid=key["id"],
                                  scheme="ecdsa-sha2-nistp256")
    for layer in layers:
        assert layer["mediaType"] == "application/vnd.dsse.envelope.v1+json"
        raw = json.loads(_blob(staging, layer["digest"]))
        assert raw["payloadType"] == "application/vnd.in-toto+json"
        assert raw["signatures"][0]["keyid"] == key["id"]
        envelope = Envelope.from_dict(json.loads(json.dumps(raw)))  # from_dict takes it apart
        assert list(envelope.verify([public], 1)) == [key["id"]]
        assert _openssl_verifies(tmp_path, pem, envelope.pae(), raw["signatures"][0]["sig"])
        statement = json_format.Parse(base64.b64decode(raw["payload"]),
                                      statement_pb2.Statement())
        Statement.copy_from_pb(statement).validate()
        assert [dict(s.digest) for s in statement.subject] == [
            {"sha256": digest.removeprefix("sha256:")}]
    provenance = json.loads(base64.b64decode(json.loads(_blob(staging, layers[0]["digest"]))
                                             ["payload"]))["predicate"]
    parsed = json_format.Parse(json.dumps(provenance), provenance_pb2.Provenance())
    assert parsed.build_definition.resolved_dependencies[0].digest["gitCommit"] == commit
    assert parsed.build_definition.internal_parameters["builder"] == builder
    assert {b.name for b in parsed.run_details.byproducts} == {"sbom", "log"}
    try:
        json_format.Parse(json.dumps({**provenance, "extra": 1}), provenance_pb2.Provenance())
        raise AssertionError("an extra field parsed")
    except json_format.ParseError:
        pass


def _check_provenance_facts(app, build_id, staging, att, base_image, base_id):
    """The provenance says what the build's record and its artifacts say."""
    envelope = json.loads(_blob(staging, json.loads(att.raw)["layers"][0]["digest"]))
    predicate = json.loads(base64.b64decode(envelope["payload"]))["predicate"]
    client = app.test_client()
    build = client.get(f"/api/v1/builds/{build_id}").get_json()
    definition, run = predicate["buildDefinition"], predicate["runDetails"]
    assert definition["buildType"] == slsa.BUILD_TYPE
    assert definition["externalParameters"] == {
        "repository": "acme/web", "ref": "refs/heads/main", "dockerfile": "Dockerfile",
        "context": ".", "target": "", "buildArgs": build["build_args"]}
    assert definition["internalParameters"]["network"] == "none"
    assert definition["resolvedDependencies"][1] == {
        "uri": f"docker-image://{base_image}",
        "digest": {"sha256": base_id.removeprefix("sha256:")}}
    assert run["builder"]["id"] == app.extensions["lockmaster"].settings.signing.builder_id
    metadata = run["metadata"]
    assert metadata["invocationId"] == build_id
    started, finished = (datetime.fromisoformat(metadata[key].replace("Z", "+00:00"))
                         for key in ("startedOn", "finishedOn"))
    assert started <= finished
    byproducts = {item["name"]: item["digest"]["sha256"] for item in run["byproducts"]}
    sbom = client.get(f"/api/v1/builds/{build_id}/sbom")
    assert sbom.status_code == 200 and byproducts["sbom"] == hashlib.sha256(sbom.data).hexdigest()
    # The log as it stood when the checks ended: a prefix of the build's whole log.
    log = client.get(f"/api/v1/builds/{build_id}/log").get_data(as_text=True)
    prefixes = {hashlib.sha256(log[:end + 1].encode()).hexdigest()
                for end, char in enumerate(log) if char == "\n"}
    prefixes.add(hashlib.sha256(log.encode()).hexdigest())
    assert byproducts["log"] in prefixes


def _tampering_is_refused(app, tmp_path, staging, digest, sig, att, source_repo):
    """Each tampering makes the verification fail; a promotion is refused, nothing copied."""
    runtime = app.extensions["lockmaster"]
    sig_tag, att_tag = formats.signature_tag(digest), formats.attestation_tag(digest)
    reference = f"{REGISTRY_ADDR}/{staging}"
    expected = Expected(reference, digest, runtime.settings.signing.builder_id)
    keys = trusted_keys(runtime.db)

    def refused(fragment):
        try:
            verify_image(RegistrySource(REGISTRY, staging), keys, expected)
        except ProofError as exc:
            assert fragment in str(exc), exc
            return
        raise AssertionError("a tampered proof verified")

    layer = json.loads(sig.raw)["layers"][0]
    changed = _blob(staging, layer["digest"]).replace(b"Lockmaster", b"Lockmastor")
    _push_proof(staging, sig_tag, [formats.Layer(layer["mediaType"], changed,
                                                 layer["annotations"])])
    refused("not by a trusted key")
    decide(runtime, _build_id(app, digest), "carol", "approve", digest, "ok")
    work(app)
    promotion = _promotions(app)[-1]
    assert promotion.status == "failed" and "proofs do not verify" in promotion.reason
    assert REGISTRY.manifest_digest(staging.replace("staging", "production"), digest) is None
    assert "refused" in _page(app, _build_id(app, digest))
    failed = _lockmaster("verify", f"{reference}@{digest}", app=app)
    assert failed.returncode == 1 and "NOT VERIFIED" in failed.stderr

    other = stage(app, source_repo, size=2048)  # another image, signed
    REGISTRY.put_manifest(staging, sig_tag,
                          REGISTRY.manifest(staging, formats.signature_tag(other.digest)))
    refused(f"the signature is for {other.digest}")
    decide(runtime, _build_id(app, digest), "carol", "approve", digest, "swapped")
    work(app)
    promotion = _promotions(app)[-1]
    assert promotion.status == "failed" and f"the signature is for {other.digest}" in \
        promotion.reason
    assert REGISTRY.manifest_digest(staging.replace("staging", "production"), digest) is None
    swapped = _lockmaster("verify", f"{reference}@{digest}", app=app)
    assert swapped.returncode == 1 and f"the signature is for {other.digest}" in swapped.stderr
    REGISTRY.put_manifest(staging, sig_tag, sig)

    foreign = ImageSigner(ec.generate_private_key(ec.SECP256R1()))
    layers = []
    for item in json.loads(att.raw)["layers"]:
        envelope = json.loads(_blob(staging, item["digest"]))
        payload = base64.b64decode(envelope["payload"])
        body = formats.envelope(payload, foreign.key_id,
                                foreign.sign(formats.pae(envelope["payloadType"], payload)))
        layers.append(formats.Layer(item["mediaType"], json.dumps(body).encode(),
                                    item["annotations"]))
    _push_proof(staging, att_tag, layers)
    refused("not signed by a trusted key")
    resigned = _lockmaster("verify", f"{reference}@{digest}", app=app)
    assert resigned.returncode == 1 and "not signed by a trusted key" in resigned.stderr
    REGISTRY.put_manifest(staging, att_tag, att)

    # A re-pushed `.att` whose envelope is JSON but no object: refused with a reason (the
    # promotion ends, audited), never a crash that leaves it `promoting`.
    _push_proof(staging, att_tag, [formats.Layer(
        formats.DSSE_ENVELOPE, b"[]", {formats.PREDICATE_ANNOTATION: formats.SLSA_PROVENANCE_V1})])
    refused("a DSSE envelope is not a JSON object")
    decide(runtime, _build_id(app, digest), "carol", "approve", digest, "again")
    work(app)
    promotion = _promotions(app)[-1]
    assert promotion.status == "failed", promotion.status
    assert "a DSSE envelope is not a JSON object" in promotion.reason
    assert REGISTRY.manifest_digest(staging.replace("staging", "production"), digest) is None
    with runtime.db.session() as session:
        refusals = session.query(AuditEvent).filter_by(action="proof-check").all()
        assert [e.outcome for e in refusals] == ["refused"] * 3
        assert "not a JSON object" in refusals[-1].detail
    malformed = _lockmaster("verify", f"{reference}@{digest}", app=app)
    assert malformed.returncode == 1 and "NOT VERIFIED" in malformed.stderr
    assert "Traceback" not in malformed.stderr
    REGISTRY.put_manifest(staging, att_tag, att)

    unknown = tmp_path / "unknown.pub"
    unknown.write_text(foreign.public_pem)
    wrong_key = _lockmaster("verify", f"{reference}@{digest}", "--key", str(unknown), app=app)
    assert wrong_key.returncode == 1 and "not by a trusted key" in wrong_key.stderr
    try:
        verify_image(RegistrySource(REGISTRY, staging), keys,
                     Expected(reference, "sha256:" + "0" * 64, expected.builder_id))
        raise AssertionError("an unsigned digest verified")
    except ProofError as exc:
        assert "no signature" in str(exc)


def _push_proof(name, tag, layers):
    raw, config = formats.proof_manifest(layers)
    for blob in [config, *(layer.data for layer in layers)]:
        push_blob(REGISTRY, name, blob)
    REGISTRY.put_manifest(name, tag, Manifest(formats.sha256_digest(raw), formats.OCI_MANIFEST,
                                              raw))


def _openssl_verifies(tmp_path, pem, data: bytes, signature_b64: str) -> bool:
    (tmp_path / "data").write_bytes(data)
    (tmp_path / "sig.der").write_bytes(base64.b64decode(signature_b64))
    result = subprocess.run(["openssl", "dgst", "-sha256", "-verify", str(pem), "-signature",
                             str(tmp_path / "sig.der"), str(tmp_path / "data")],
                            capture_output=True, text=True, timeout=30)
    return result.returncode == 0 and "Verified OK" in result.stdout


def ec_public(pem: str):
    return load_pem_public_key(pem.encode())


def _blob(name, digest) -> bytes:
    return b"".join(REGISTRY.blob_chunks(name, digest))


def _lockmaster(*args, app):
    return subprocess.run([LOCKMASTER, *args], env=lockmaster_env(app), capture_output=True,
                          text=True, timeout=120)


def _promotions(app):
    with app.extensions["lockmaster"].db.session() as session:
        return list(session.query(Promotion).order_by(Promotion.id))


def _build_id(app, digest):
    with app.extensions["lockmaster"].db.session() as session:
        return session.query(Build).filter(Build.digest == digest).first().id


def _page(app, build_id) -> str:
    web = app.test_client()
    page = web.get("/login").text
    token = page.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
    web.post("/login", data={"username": "erin", "password": PASSWORD, "csrf_token": token})
    return web.get(f"/builds/{build_id}").get_data(as_text=True)
