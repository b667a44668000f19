"""The token service's signing key and certificate: made on first use, rotatable."""

from __future__ import annotations

import fcntl
import time
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

CERT_DAYS = 3650


@dataclass(frozen=True)
class SigningKey:
    """The private key that signs tokens and its certificate (sent in the JWT's x5c)."""

    key_pem: bytes
    cert_der: bytes


def key_dir(data_dir: Path) -> Path:
    """Where the token service keeps its keys."""
    return data_dir / "registry-auth"


def bundle_path(data_dir: Path) -> Path:
    """The registry's `auth.token.rootcertbundle`: the current and still-valid old certs."""
    return key_dir(data_dir) / "bundle.pem"


def load_or_create(data_dir: Path) -> SigningKey:
    """The current signing key, generating it (and the bundle) on first use."""
    folder = key_dir(data_dir)
    with locked(folder):
        if not (folder / "key.pem").exists():
            _generate(folder)
            _write_bundle(folder, token_seconds=0)
    cert = x509.load_pem_x509_certificate((folder / "cert.pem").read_bytes())
    return SigningKey((folder / "key.pem").read_bytes(),
                      cert.public_bytes(serialization.Encoding.DER))


def rotate(data_dir: Path, token_seconds: int) -> Path:
    """Make a new key; the old cert stays in the bundle until its tokens have expired."""
    folder = key_dir(data_dir)
    with locked(folder):
        if (folder / "cert.pem").exists():
            retired = folder / "retired"
            retired.mkdir(exist_ok=True)
            (folder / "cert.pem").rename(retired / f"{time.time():.0f}.pem")
        _generate(folder)
        _write_bundle(folder, token_seconds)
    return bundle_path(data_dir)


def _write_bundle(folder: Path, token_seconds: int) -> None:
    """Current cert plus retired certs whose tokens may still be in use."""
    parts = [(folder / "cert.pem").read_bytes()]
    for old in sorted((folder / "retired").glob("*.pem")) if (folder / "retired").exists() \
            else []:
        if time.time() - old.stat().st_mtime > token_seconds + 60:
            old.unlink()
        else:
            parts.append(old.read_bytes())
    (folder / "bundle.pem").write_bytes(b"".join(parts))


def _generate(folder: Path) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Lockmaster token service")])
    now = datetime.now(UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(minutes=5))
            .not_valid_after(now + timedelta(days=CERT_DAYS))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    key_file = folder / "key.pem"
    key_file.touch(mode=0o600)
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    (folder / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))


@contextmanager
def locked(folder: Path):
    """Hold the key folder's lock (processes share it through the data dir)."""
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    with open(folder / ".lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield
