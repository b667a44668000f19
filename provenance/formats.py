"""The wire formats of image proofs (cosign tag scheme, simple signing, DSSE, in-toto): plain
domain code, no I/O."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from dataclasses import dataclass, field

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
SIMPLE_SIGNING = "application/vnd.dev.cosign.simplesigning.v1+json"
DSSE_ENVELOPE = "application/vnd.dsse.envelope.v1+json"
SIGNATURE_ANNOTATION = "dev.cosignproject.cosign/signature"
PREDICATE_ANNOTATION = "predicateType"
SIGNATURE_TYPE = "cosign container image signature"
IN_TOTO_PAYLOAD = "application/vnd.in-toto+json"
STATEMENT_V1 = "https://in-toto.io/Statement/v1"
SLSA_PROVENANCE_V1 = "https://slsa.dev/provenance/v1"
CYCLONEDX = "https://cyclonedx.org/bom"
_PROOF_TAG = re.compile(r"sha256-[0-9a-f]{64}\.(sig|att)")


class FormatError(ValueError):
    """A proof document does not have the shape its spec requires."""


def sha256_digest(data: bytes) -> str:
    """The OCI digest of some bytes."""
    return "sha256:" + hashlib.sha256(data).hexdigest()


def signature_tag(digest: str) -> str:
    """cosign's tag for the signatures of an image digest."""
    return digest.replace(":", "-", 1) + ".sig"


def attestation_tag(digest: str) -> str:
    """cosign's tag for the attestations of an image digest."""
    return digest.replace(":", "-", 1) + ".att"


def is_proof_tag(tag: str) -> bool:
    """True for a `.sig` or `.att` tag of the cosign scheme (not an image's own tag)."""
    return bool(_PROOF_TAG.fullmatch(tag))


def canonical(document: dict) -> bytes:
    """Compact JSON bytes of a document (what gets signed)."""
    return json.dumps(document, separators=(",", ":"), sort_keys=True).encode()


def simple_signing_payload(reference: str, digest: str, optional: dict) -> bytes:
    """The simple-signing payload binding a docker reference to a manifest digest."""
    return canonical({"critical": {"identity": {"docker-reference": reference},
                                   "image": {"docker-manifest-digest": digest},
                                   "type": SIGNATURE_TYPE},
                      "optional": optional})


def parse_simple_signing(raw: bytes) -> tuple[str, str]:
    """(docker-reference, manifest digest) of a payload, by containers/image's strict rules."""
    try:
        document = json.loads(raw)
        critical = document["critical"]
    except (ValueError, KeyError, TypeError) as exc:
        raise FormatError(f"the signature payload is not simple-signing JSON: {exc}") from exc
    if not isinstance(critical, dict) or set(critical) != {"type", "image", "identity"}:
        raise FormatError("the payload's `critical` must hold exactly type, image, identity")
    image, identity = critical["image"], critical["identity"]
    if critical["type"] != SIGNATURE_TYPE:
        raise FormatError(f"the payload's type is {critical['type']!r}, not {SIGNATURE_TYPE!r}")
    if not isinstance(image, dict) or set(image) != {"docker-manifest-digest"} \
            or not isinstance(identity, dict) or set(identity) != {"docker-reference"}:
        raise FormatError("the payload's image/identity hold other fields than the spec's")
    return str(identity["docker-reference"]), str(image["docker-manifest-digest"])


def pae(payload_type: str, payload: bytes) -> bytes:
    """DSSE's pre-authentication encoding: what a DSSE signature signs."""
    kind = payload_type.encode()
    return b"DSSEv1 %d %s %d %s" % (len(kind), kind, len(payload), payload)


def envelope(payload: bytes, key_id: str, signature: bytes) -> dict:
    """A DSSE envelope of an in-toto payload with one signature."""
    return {"payloadType": IN_TOTO_PAYLOAD, "payload": b64(payload),
            "signatures": [{"keyid": key_id, "sig": b64(signature)}]}


def statement(digest: str, name: str, predicate_type: str, predicate: dict) -> bytes:
    """An in-toto Statement v1 about one image digest."""
    algorithm, hex_digest = digest.split(":", 1)
    return canonical({"_type": STATEMENT_V1,
                      "subject": [{"name": name, "digest": {algorithm: hex_digest}}],
                      "predicateType": predicate_type, "predicate": predicate})


def b64(data: bytes) -> str:
    """Standard base64 with padding (DSSE's and cosign's encoding)."""
    return base64.b64encode(data).decode()


def unb64(text: str) -> bytes:
    """Decode standard base64, refusing anything else."""
    try:
        return base64.b64decode(text, validate=True)
    except (ValueError, TypeError) as exc:
        raise FormatError(f"not standard base64: {exc}") from exc


@dataclass(frozen=True)
class Layer:
    """One blob of a proof manifest, with its media type and annotations."""

    media_type: str
    data: bytes
    annotations: dict = field(default_factory=dict)

    def descriptor(self) -> dict:
        """The OCI descriptor of this layer."""
        return {"mediaType": self.media_type, "size": len(self.data),
                "digest": sha256_digest(self.data), "annotations": self.annotations}


def proof_manifest(layers: list[Layer]) -> tuple[bytes, bytes]:
    """(manifest, config) bytes of an OCI image manifest holding the layers, as cosign makes
    them (an empty image config whose diff_ids are the layer digests)."""
    config = canonical({"architecture": "", "os": "", "config": {},
                        "created": "0001-01-01T00:00:00Z",
                        "history": [{"created": "0001-01-01T00:00:00Z"}],
                        "rootfs": {"type": "layers",
                                   "diff_ids": [sha256_digest(layer.data) for layer in layers]}})
    manifest = canonical({"schemaVersion": 2, "mediaType": OCI_MANIFEST,
                          "config": {"mediaType": OCI_CONFIG, "size": len(config),
                                     "digest": sha256_digest(config)},
                          "layers": [layer.descriptor() for layer in layers]})
    return manifest, config
