"""A local certificate authority and server certificates for `make run` with TLS."""

from __future__ import annotations

import ipaddress
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

DOCKER_CERTS = Path("/etc/docker/certs.d")


def ensure_ca(folder: Path) -> Path:
    """The local CA (ca.crt, ca.key) in folder, made once; returns the certificate's path."""
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    if not (folder / "ca.crt").exists():
        key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Lockmaster local CA")])
        cert = (_builder(name, name, key, days=3650)
                .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
                .add_extension(x509.KeyUsage(False, False, False, False, False, True, True,
                                             False, False), critical=True)
                .sign(key, hashes.SHA256()))
        _write_key(folder / "ca.key", key)
        (folder / "ca.crt").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return folder / "ca.crt"


def server_certificate(folder: Path, name: str, hosts: list[str]) -> tuple[Path, Path]:
    """A server certificate for hosts (names or IPs) signed by the local CA: (cert, key)."""
    ensure_ca(folder)
    ca_key = serialization.load_pem_private_key((folder / "ca.key").read_bytes(), None)
    ca_cert = x509.load_pem_x509_certificate((folder / "ca.crt").read_bytes())
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hosts[0])])
    cert = (_builder(subject, ca_cert.subject, key, days=397)
            .add_extension(x509.SubjectAlternativeName([_general_name(h) for h in hosts]),
                           critical=False)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]),
                           critical=False)
            .sign(ca_key, hashes.SHA256()))
    cert_path, key_path = folder / f"{name}.crt", folder / f"{name}.key"
    _write_key(key_path, key)
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return cert_path, key_path


def install_for_docker(ca: Path, host: str, root: Path = DOCKER_CERTS) -> Path:
    """Make the local Docker engine trust the CA for host:port (read at each pull/push)."""
    folder = root / host
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(ca, folder / "ca.crt")
    return folder / "ca.crt"


def _builder(subject: x509.Name, issuer: x509.Name, key, days: int) -> x509.CertificateBuilder:
    now = datetime.now(UTC)
    return (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(minutes=5))
            .not_valid_after(now + timedelta(days=days)))


def _general_name(host: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(host))
    except ValueError:
        return x509.DNSName(host)


def _write_key(path: Path, key) -> None:
    path.touch(mode=0o600)
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                       serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()))
