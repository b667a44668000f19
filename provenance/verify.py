"""Checking an image's proofs: its `.sig` for a reference and its signed attestations."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from cryptography.hazmat.primitives.asymmetric import ec

from distribution.client import RegistryError
from provenance import formats, slsa
from provenance.formats import FormatError
from provenance.keys import verifies
from provenance.sources import MAX_LAYERS, Prefetched, ProofSource

# What a hostile manifest or envelope may raise while it is read (a list where an object
# belongs, JSON nested past the parser's depth, a missing field…): a proof that does not
# verify, never a crash of the promotion that reads it.
_MALFORMED = (ValueError, KeyError, TypeError, AttributeError, IndexError, RecursionError)


class ProofError(Exception):
    """An image's proofs are missing or do not verify; the message says which and why."""


@dataclass(frozen=True)
class Expected:
    """What the proofs must say: about which image, by whom, from which record."""

    reference: str
    digest: str
    builder_id: str
    commit_sha: str | None = None
    sbom: bytes | None = None  # the build's recorded SBOM; None: not compared
    sbom_expected: bool | None = None  # whether an SBOM attestation must be there


@dataclass
class Verified:
    """What a verification checked, line by line, and the proof manifests' digests."""

    lines: list[str] = field(default_factory=list)
    signature: str = ""
    attestation: str = ""
    statements: dict = field(default_factory=dict)  # predicate type → statement
    manifests: dict = field(default_factory=dict)  # tag → raw manifest, as verified
    payloads: dict = field(default_factory=dict)  # digest → simple-signing payload


def verify_image(source: ProofSource, keys: dict[str, ec.EllipticCurvePublicKey],
                 expected: Expected) -> Verified:
    """Verify the `.sig` and `.att` of expected.digest; ProofError on the first failure."""
    if not keys:
        raise ProofError("no trusted signing key: run `lockmaster signing-keys` on a worker "
                         "host, or give --key")
    done = Verified()
    try:
        source = Prefetched(source, [formats.signature_tag(expected.digest),
                                     formats.attestation_tag(expected.digest)])
        _signature(source, keys, expected, done)
        _attestations(source, keys, expected, done)
    except (FormatError, RegistryError) as exc:
        raise ProofError(f"{expected.reference}@{expected.digest}: {exc}") from exc
    except _MALFORMED as exc:
        raise ProofError(f"{expected.reference}@{expected.digest}: malformed proof "
                         f"({type(exc).__name__}: {exc})") from exc
    return done


def _layers(source: ProofSource, tag: str, what: str, done: Verified) -> tuple[str, list[dict]]:
    raw = source.manifest(tag)
    if raw is None:
        raise ProofError(f"no {what} ({tag}) next to the image")
    done.manifests[tag] = raw
    document = _object(json.loads(raw), f"the {what} manifest")
    layers = document.get("layers") or []
    if not isinstance(layers, list) or len(layers) > MAX_LAYERS:
        raise ProofError(f"the {what} manifest's layers are not a list of at most "
                         f"{MAX_LAYERS}")
    return formats.sha256_digest(raw), [_object(layer, f"a {what} layer") for layer in layers]


def _object(value, what: str) -> dict:
    """value if it is a JSON object; ProofError naming `what` if not."""
    if not isinstance(value, dict):
        raise ProofError(f"{what} is not a JSON object")
    return value


def _signature(source: ProofSource, keys: dict, expected: Expected, done: Verified) -> None:
    done.signature, layers = _layers(source, formats.signature_tag(expected.digest), "signature",
                                     done)
    bound = []
    for layer in layers:
        if layer.get("mediaType") != formats.SIMPLE_SIGNING:
            raise ProofError(f"signature layer of media type {layer.get('mediaType')!r}")
        payload = done.payloads[layer["digest"]] = source.blob(layer["digest"])
        reference, digest = formats.parse_simple_signing(payload)
        if digest != expected.digest:
            raise ProofError(f"the signature is for {digest}, not {expected.digest}")
        signature = formats.unb64((layer.get("annotations") or {})
                                  .get(formats.SIGNATURE_ANNOTATION, ""))
        signer = _signed_by(keys, signature, payload)
        if signer is None:
            raise ProofError(f"the signature for {reference} is not by a trusted key")
        bound.append(reference)
        done.lines.append(f"signature: {reference}@{digest} signed by key {signer[:16]}")
    if expected.reference not in bound:
        raise ProofError(f"no signature binds {expected.reference} (signed for: "
                         f"{', '.join(bound) or 'nothing'})")


def _attestations(source: ProofSource, keys: dict, expected: Expected, done: Verified) -> None:
    done.attestation, layers = _layers(source, formats.attestation_tag(expected.digest),
                                       "attestation", done)
    for layer in layers:
        if layer.get("mediaType") != formats.DSSE_ENVELOPE:
            raise ProofError(f"attestation layer of media type {layer.get('mediaType')!r}")
        statement = _envelope(_object(json.loads(source.blob(layer["digest"])),
                                      "a DSSE envelope"), keys, expected)
        kind = statement["predicateType"]
        if (layer.get("annotations") or {}).get(formats.PREDICATE_ANNOTATION) != kind:
            raise ProofError(f"the layer's predicateType annotation does not say {kind}")
        if kind in done.statements:
            raise ProofError(f"two attestations of type {kind}")
        done.statements[kind] = statement
        done.lines.append(f"attestation: {kind} about {expected.digest}, DSSE signature ok")
    _provenance(done, expected)
    _sbom(done, expected)


def _envelope(envelope: dict, keys: dict, expected: Expected) -> dict:
    if envelope.get("payloadType") != formats.IN_TOTO_PAYLOAD:
        raise ProofError(f"DSSE payloadType {envelope.get('payloadType')!r}")
    payload = formats.unb64(envelope["payload"])
    signed = formats.pae(formats.IN_TOTO_PAYLOAD, payload)
    if not any(_signed_by(keys, formats.unb64(s.get("sig", "")), signed)
               for s in envelope.get("signatures") or []):
        raise ProofError("a DSSE envelope is not signed by a trusted key")
    statement = _object(json.loads(payload), "an in-toto statement")
    if statement.get("_type") != formats.STATEMENT_V1:
        raise ProofError(f"statement type {statement.get('_type')!r}")
    subjects = statement.get("subject") or []
    algorithm, value = expected.digest.split(":", 1)
    if len(subjects) != 1 or subjects[0].get("digest") != {algorithm: value}:
        raise ProofError(f"the statement's subject is not exactly {expected.digest}")
    return statement


def _provenance(done: Verified, expected: Expected) -> None:
    statement = done.statements.get(formats.SLSA_PROVENANCE_V1)
    if statement is None:
        raise ProofError("no SLSA provenance attestation")
    predicate = statement["predicate"]
    builder = predicate["runDetails"]["builder"]["id"]
    if builder != expected.builder_id:
        raise ProofError(f"provenance by builder {builder}, not {expected.builder_id}")
    commit = slsa.git_commit(predicate)
    if expected.commit_sha and commit != expected.commit_sha:
        raise ProofError(f"provenance names commit {commit}, the record {expected.commit_sha}")
    done.lines.append(f"provenance: builder {builder}, commit {commit}")


def _sbom(done: Verified, expected: Expected) -> None:
    statement = done.statements.get(formats.CYCLONEDX)
    named = slsa.byproduct_digest(done.statements[formats.SLSA_PROVENANCE_V1]["predicate"],
                                  "sbom")
    if expected.sbom_expected is not None and expected.sbom_expected != (statement is not None):
        raise ProofError("the SBOM attestation is " +
                         ("missing" if expected.sbom_expected else "there but none was made"))
    if expected.sbom is not None:
        recorded = formats.sha256_digest(expected.sbom)
        if named != recorded or statement is None \
                or statement["predicate"] != json.loads(expected.sbom):
            raise ProofError(f"the attested SBOM ({named}) is not the build's SBOM ({recorded})")
    if statement is not None:
        done.lines.append(f"sbom: CycloneDX attested, {named}")


def _signed_by(keys: dict, signature: bytes, data: bytes) -> str | None:
    return next((kid for kid, key in keys.items() if verifies(key, signature, data)), None)
