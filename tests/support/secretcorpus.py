"""True positives and true negatives for the secrets gate, made with openssl and ssh-keygen."""

from __future__ import annotations

import io
import secrets
import string
import subprocess
import tarfile
import zipfile
import zlib
from pathlib import Path

from builder.checks.secretshapes import BASE62_ALPHABETS, base62

AWS_KEY_ID = "AKIA" + "".join(secrets.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567") for _ in range(16))
AWS_SECRET = "".join(secrets.choice(string.ascii_letters + string.digits + "/+")
                     for _ in range(40))
DOCKERFILE = """\
FROM {base}
COPY keys/ /srv/keys/
COPY rsa.pem /tmp/deploy.pem
RUN rm /tmp/deploy.pem
COPY npmrc /home/app/.npmrc
COPY bundle.tar.gz bundle.zip /srv/
COPY public/ /srv/public/
ENV AWS_ACCESS_KEY_ID={key_id} AWS_SECRET_ACCESS_KEY={secret}
"""


def github_token() -> str:
    """A classic personal access token of the documented shape, with its checksum."""
    body = "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(30))
    return f"ghp_{body}{base62(zlib.crc32(body.encode()), BASE62_ALPHABETS[0]).decode()}"


def write_corpus(folder: Path, base: str) -> dict[str, str]:
    """A build context with every kind of secret; returns the secret values by name."""
    keys, public = folder / "keys", folder / "public"
    keys.mkdir(parents=True)
    public.mkdir()
    _run("openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048",
         "-out", folder / "rsa.pem")
    (keys / "rsa.pem").write_bytes((folder / "rsa.pem").read_bytes())
    _run("openssl", "ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", keys / "ec.pem")
    _run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "test", "-f", keys / "id_ed25519")
    (public / "id_ed25519.pub").write_bytes((keys / "id_ed25519.pub").read_bytes())
    (keys / "id_ed25519.pub").unlink()
    _run("openssl", "pkey", "-in", folder / "rsa.pem", "-pubout", "-out", public / "rsa.pub")
    _run("openssl", "req", "-x509", "-key", folder / "rsa.pem", "-subj", "/CN=corpus", "-days",
         "1", "-out", public / "cert.pem")
    _wheel(public / "wheels" / "demo-1.0-py3-none-any.whl", (public / "cert.pem").read_text())
    token = github_token()
    (folder / "npmrc").write_text(f"//npm.pkg.github.com/:_authToken={token}\n")
    _archives(folder, (folder / "rsa.pem").read_bytes(), (keys / "ec.pem").read_bytes())
    (folder / "Dockerfile").write_text(DOCKERFILE.format(base=base, key_id=AWS_KEY_ID,
                                                         secret=AWS_SECRET))
    return {"token": token, "aws id": AWS_KEY_ID, "aws secret": AWS_SECRET,
            **{name: (folder / name).read_text() for name in ("rsa.pem",)},
            **{name: (keys / name).read_text() for name in ("ec.pem", "id_ed25519")}}


def _wheel(path: Path, certificate: str) -> None:
    """A wheel cache's wheel: a TLS helper with PEM templates and a test certificate."""
    path.parent.mkdir()
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as wheel:
        wheel.writestr("demo/tls.py", 'KEY = "-----BEGIN %s PRIVATE KEY-----\\n%s\\n'
                                      '-----END %s PRIVATE KEY-----"\n')
        wheel.writestr("demo/tests/server.pem", certificate)
        wheel.writestr("demo-1.0.dist-info/METADATA", "Name: demo\nVersion: 1.0\n")


def _archives(folder: Path, rsa: bytes, ec: bytes) -> None:
    with tarfile.open(folder / "bundle.tar.gz", "w:gz") as bundle:
        info = tarfile.TarInfo("config/deploy.pem")
        info.size = len(rsa)
        bundle.addfile(info, io.BytesIO(rsa))
    with zipfile.ZipFile(folder / "bundle.zip", "w") as bundle:
        bundle.writestr("readme.txt", "nothing here\n")
        bundle.writestr("certs/ec.pem", ec)


def _run(*args) -> None:
    subprocess.run([str(a) for a in args], check=True, capture_output=True)
