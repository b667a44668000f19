"""The image-signing key: an ECDSA P-256 private key (PKCS#8 PEM, mode 0600) on the worker,
its public half and status in the record."""

from __future__ import annotations

import fcntl
import hashlib
import os
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec


class SigningKeyError(Exception):
    """The signing key is missing, unreadable or not the active one; the message says why."""




def key_id(public_key: ec.EllipticCurvePublicKey) -> str:
    """A key's id: the SHA-256 hex of its DER SubjectPublicKeyInfo (the DSSE `keyid`)."""
    der = public_key.public_bytes(serialization.Encoding.DER,
                                  serialization.PublicFormat.SubjectPublicKeyInfo)
    return hashlib.sha256(der).hexdigest()


def public_pem(public_key: ec.EllipticCurvePublicKey) -> str:
    """The public key as a PEM SubjectPublicKeyInfo (what cosign's --key reads)."""
    return public_key.public_bytes(serialization.Encoding.PEM,
                                   serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def load_public(pem: str | bytes) -> ec.EllipticCurvePublicKey:
    """A P-256 public key from PEM; SigningKeyError for anything else."""
    try:
        key = serialization.load_pem_public_key(pem if isinstance(pem, bytes) else pem.encode())
    except ValueError as exc:
        raise SigningKeyError(f"not a PEM public key: {exc}") from exc
    if not isinstance(key, ec.EllipticCurvePublicKey) or key.curve.name != "secp256r1":
        raise SigningKeyError("the public key is not an ECDSA P-256 key")
    return key


def verifies(public_key: ec.EllipticCurvePublicKey, signature: bytes, data: bytes) -> bool:
    """True if signature is an ASN.1 ECDSA-P256/SHA-256 signature of data by public_key."""
    try:
        public_key.verify(signature, data, ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        return False
    return True


@dataclass(frozen=True)
class ImageSigner:
    """The worker's private key, ready to sign."""

    private_key: ec.EllipticCurvePrivateKey

    @property
    def key_id(self) -> str:
        """The id of this key's public half."""
        return key_id(self.private_key.public_key())

    @property
    def public_pem(self) -> str:
        """The PEM of this key's public half."""
        return public_pem(self.private_key.public_key())

    @property
    def private_pem(self) -> str:
        """The private key as PKCS#8 PEM (for the build log's masker: never to be shown)."""
        return self.private_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption()).decode()

    def sign(self, data: bytes) -> bytes:
        """An ASN.1 (DER) ECDSA-P256/SHA-256 signature of data."""
        return self.private_key.sign(data, ec.ECDSA(hashes.SHA256()))


def load_or_create(path: Path) -> ImageSigner:
    """The key at path, generating it (mode 0600) on first use."""
    with _locked(path):
        if not path.exists():
            _write(path, ec.generate_private_key(ec.SECP256R1()))
    return load(path)


def load(path: Path) -> ImageSigner:
    """The key at path; SigningKeyError if it is not an ECDSA P-256 PKCS#8 PEM."""
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (OSError, ValueError, TypeError) as exc:
        raise SigningKeyError(f"cannot read the image-signing key {path}: {exc}; give "
                              "signing.key_file an unencrypted PKCS#8 PEM ECDSA P-256 key") from exc
    if not isinstance(key, ec.EllipticCurvePrivateKey) or key.curve.name != "secp256r1":
        raise SigningKeyError(f"{path} is not an ECDSA P-256 key; cosign and Lockmaster "
                              "sign images with P-256")
    return ImageSigner(key)


def replace(path: Path) -> ImageSigner:
    """Write a new key at path (the rotation's first half); the old file is kept beside it."""
    with _locked(path):
        if path.exists():
            old = load(path)
            os.replace(path, path.with_name(f"{path.name}.retired-{old.key_id[:16]}"))
        _write(path, ec.generate_private_key(ec.SECP256R1()))
    return load(path)


def _write(path: Path, key: ec.EllipticCurvePrivateKey) -> None:
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".new")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(pem)
    os.replace(temporary, path)


@contextmanager
def _locked(path: Path):
    """Serialise key creation between processes of one host."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_name(path.name + ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield
