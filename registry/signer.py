"""This process's token signer: the current key parsed once and parsed again only when its file
changes (parsing an RSA key costs ~50 ms, far more than signing with it)."""

from __future__ import annotations

import base64
import hashlib
import threading
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from registry import signing


@dataclass(frozen=True)
class Signer:
    """A loaded private key, its JWT algorithm and the x5c header naming its certificate."""

    key: object
    algorithm: str
    x5c: tuple[str, ...]
    fingerprint: str  # of the certificate: a token signed by another key is another token


_loaded: dict[Path, tuple[tuple[int, int], Signer]] = {}
_lock = threading.Lock()


def current(data_dir: Path) -> Signer:
    """The signer of the key in data_dir now (ES256 for P-256 keys, RS256 for older RSA keys)."""
    path = signing.key_dir(data_dir) / "key.pem"
    try:
        stat = path.stat()
    except FileNotFoundError:
        signing.load_or_create(data_dir)
        stat = path.stat()
    stamp = (stat.st_ino, stat.st_mtime_ns)
    known = _loaded.get(path)
    if known is not None and known[0] == stamp:
        return known[1]
    with _lock:
        loaded = load(signing.load_or_create(data_dir))
        _loaded[path] = (stamp, loaded)
    return loaded


def load(key: signing.SigningKey) -> Signer:
    """Parse a signing key once."""
    private = serialization.load_pem_private_key(key.key_pem, password=None)
    algorithm = "RS256" if isinstance(private, rsa.RSAPrivateKey) else "ES256"
    return Signer(private, algorithm, (base64.b64encode(key.cert_der).decode(),),
                  hashlib.sha256(key.cert_der).hexdigest()[:16])
