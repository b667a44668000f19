"""Rotating the token-signing key with a real registry that reads its bundle only at start:
tokens issued before, during and after the rotation keep working."""

from __future__ import annotations

import base64
import os
import subprocess
import time

import jwt
import requests
from click.testing import CliRunner

from app import cli
from registry import signing
from tests.support.guarded import Guarded
from tests.support.promotionkit import PASSWORD

DAY = 86400


def _token(guarded: Guarded) -> str:
    """A pull token for production/acme/web, asked of Lockmaster as the registry would."""
    name = guarded.settings.registry.path("production", "acme/web")
    response = requests.get(f"{guarded.web}/auth/token", auth=("carol", PASSWORD), timeout=30,
                            params={"service": "lockmaster-registry",
                                    "scope": f"repository:{name}:pull"})
    assert response.status_code == 200, response.text
    return response.json()["token"]


def _signer(token: str) -> bytes:
    return base64.b64decode(jwt.get_unverified_header(token)["x5c"][0])


def _pull_status(guarded: Guarded, token: str) -> int:
    """What the registry answers to a manifest GET with this token."""
    name = guarded.settings.registry.path("production", "acme/web")
    return requests.get(f"http://{guarded.addr}/v2/{name}/manifests/r1", timeout=30,
                        headers={"Authorization": f"Bearer {token}",
                                 "Accept": "application/vnd.docker.distribution.manifest.v2+json"}
                        ).status_code


def _keys(*args: str):
    return CliRunner().invoke(cli, ["registry-keys", *args])


def test_tokens_from_before_during_and_after_a_rotation_all_work(guarded):
    guarded.skopeo_copy("promoter", guarded.ref("production", "r1"))
    folder = signing.key_dir(guarded.settings.data_dir)
    day_ago = time.time() - DAY  # a key that has been signing for a day, not a fresh one
    os.utime(folder / "cert.pem", (day_ago, day_ago))
    before = _token(guarded)
    assert _pull_status(guarded, before) == 200

    staged = _keys("--rotate")
    assert staged.exit_code == 0 and "--activate" in staged.output, staged.output
    during = _token(guarded)
    assert _signer(during) == _signer(before)  # still the key the running registry trusts
    assert _pull_status(guarded, during) == 200
    early = _keys("--activate")
    assert early.exit_code != 0 and "does not trust the staged key yet" in early.output
    assert _signer(_token(guarded)) == _signer(before)

    guarded.stop_registry()
    guarded.start_registry()
    assert _pull_status(guarded, before) == 200
    activated = _keys("--activate")
    assert activated.exit_code == 0, activated.output
    after = _token(guarded)
    assert _signer(after) != _signer(before)
    assert _pull_status(guarded, after) == 200
    assert _pull_status(guarded, before) == 200
    assert _keys("--activate").exit_code != 0  # nothing staged any more

    guarded.stop_registry()  # restarted again while old tokens are still valid
    guarded.start_registry()
    assert _pull_status(guarded, before) == 200
    assert _pull_status(guarded, after) == 200
    inspected = subprocess.run(["skopeo", "inspect", "--tls-verify=false", "--creds",
                                f"carol:{PASSWORD}", f"docker://{guarded.ref('production', 'r1')}"],
                               capture_output=True, text=True, timeout=60)
    assert inspected.returncode == 0, inspected.stderr
