"""New signing keys are P-256 (ES256); an installation's older RSA key keeps signing RS256."""

from datetime import UTC, datetime, timedelta

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from registry import signing
from registry.signer import current
from registry.tokenservice import sign


def test_a_new_key_signs_es256_and_an_older_rsa_key_rs256(tmp_path):
    new = current(tmp_path / "new")
    token = sign(new, "robot", "lockmaster-registry", [], 60)["token"]
    cert = x509.load_pem_x509_certificate(
        (signing.key_dir(tmp_path / "new") / "cert.pem").read_bytes())
    assert jwt.decode(token, cert.public_key(), algorithms=["ES256"],
                      audience="lockmaster-registry")["sub"] == "robot"

    folder = signing.key_dir(tmp_path / "old")
    folder.mkdir(parents=True)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "old")])
    now = datetime.now(UTC)
    old_cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
                .public_key(key.public_key()).serial_number(1).not_valid_before(now)
                .not_valid_after(now + timedelta(days=1)).sign(key, hashes.SHA256()))
    (folder / "key.pem").write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()))
    (folder / "cert.pem").write_bytes(old_cert.public_bytes(serialization.Encoding.PEM))
    old = current(tmp_path / "old")
    assert old.algorithm == "RS256" and old.fingerprint != new.fingerprint
    token = sign(old, "robot", "lockmaster-registry", [], 60)["token"]
    assert jwt.decode(token, key.public_key(), algorithms=["RS256"],
                      audience="lockmaster-registry")["sub"] == "robot"
