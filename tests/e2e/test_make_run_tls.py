"""`LOCKMASTER_TLS=1 make run`: HTTPS web app, a TLS token-auth registry, the demo staged, and
clients without the local CA refused."""

import os
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from ops.tls import DOCKER_CERTS
from record.db import Database
from record.registry_access import RegistryEvent
from tests.support.buildhelpers import wait_for
from tests.support.processes import free_port, read_until
from tests.support.stack import REDIS_DB, ROOT

MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"


@pytest.fixture
def tls_stack(services, tmp_path, database_url):
    """`python -m devstack run` with TLS on free ports; yields (web URL, registry, CA, output)."""
    port, registry = free_port(), f"127.0.0.1:{free_port()}"
    env = {**os.environ, "LOCKMASTER_TLS": "1", "LOCKMASTER_DATA_DIR": str(tmp_path / "var"),
           "LOCKMASTER_CONFIG": str(tmp_path / "lockmaster.yml"),
           "LOCKMASTER_WEB_PORT": str(port),
           "LOCKMASTER_TLS_REGISTRY_PORT": registry.rsplit(":", 1)[1],
           "LOCKMASTER_DATABASE_URL": database_url,
           "LOCKMASTER_REDIS_URL": f"redis://127.0.0.1:6379/{REDIS_DB + 1}"}
    for name in ("LOCKMASTER_DEMO_SECRET", "LOCKMASTER_REGISTRY_EVENTS_SECRET",
                 "REQUESTS_CA_BUNDLE", "SSL_CERT_FILE", "CURL_CA_BUNDLE"):
        env.pop(name, None)
    process = subprocess.Popen([sys.executable, "-m", "devstack", "run"], cwd=ROOT, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        output = read_until(process, "Lockmaster is running", timeout=150)
        yield f"https://127.0.0.1:{port}", registry, tmp_path / "var/tls/ca.crt", output
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=60)
        shutil.rmtree(DOCKER_CERTS / registry, ignore_errors=True)


def _pushes_recorded(database_url: str) -> list[str]:
    """Repositories of the registry notifications Lockmaster recorded (sent to it over TLS)."""
    db = Database(database_url)
    try:
        with db.session() as session:
            return [e.repository for e in session.query(RegistryEvent)]
    finally:
        db.engine.dispose()


def test_tls_make_run_serves_https_guards_the_registry_and_stages_the_demo(
        tls_stack, tmp_path, database_url):
    web, registry, ca, output = tls_stack
    staged = re.search(rf"staged {re.escape(registry)}/staging/demo/hello@(sha256:\w+)", output)
    assert staged, output
    assert f"TLS on: local CA {ca}, registry https://{registry}" in output
    health = requests.get(f"{web}/healthz", timeout=10, verify=str(ca))
    assert health.ok and health.headers["Strict-Transport-Security"].startswith("max-age=")

    challenge = requests.get(f"https://{registry}/v2/", timeout=10, verify=str(ca))
    assert challenge.status_code == 401
    assert f'realm="{web}/auth/token"' in challenge.headers["WWW-Authenticate"]
    password = re.search(r"one-time password: (\S+)", output).group(1)
    token = requests.get(f"{web}/auth/token", auth=("admin", password), timeout=10,
                         verify=str(ca), params={"service": "lockmaster-registry",
                                                 "scope": "repository:staging/demo/hello:pull"})
    assert token.status_code == 200, token.text
    manifest = requests.get(f"https://{registry}/v2/staging/demo/hello/manifests/"
                            f"{staged.group(1)}", timeout=10, verify=str(ca),
                            headers={"Authorization": f"Bearer {token.json()['token']}",
                                     "Accept": MANIFEST})
    assert manifest.status_code == 200
    assert manifest.headers["Docker-Content-Digest"] == staged.group(1)

    for url in (f"{web}/healthz", f"https://{registry}/v2/"):
        with pytest.raises(requests.exceptions.SSLError):
            requests.get(url, timeout=10)  # the system's CAs only
    empty = tmp_path / "no-certs"
    empty.mkdir()
    refused = subprocess.run(["skopeo", "inspect", "--tls-verify=true", "--cert-dir", str(empty),
                              "--creds", f"admin:{password}",
                              f"docker://{registry}/staging/demo/hello@{staged.group(1)}"],
                             capture_output=True, text=True, timeout=60)
    assert refused.returncode != 0 and "certificate" in refused.stderr, refused.stderr
    assert Path(DOCKER_CERTS / registry / "ca.crt").read_bytes() == ca.read_bytes()
    wait_for(lambda: "staging/demo/hello" in _pushes_recorded(database_url), 30,
             "the registry's notification of the demo push")
