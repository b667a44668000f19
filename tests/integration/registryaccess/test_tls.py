"""TLS end to end: the registry and the web app with certificates from the local CA."""

from __future__ import annotations

import shutil
import subprocess

import pytest
import requests

from distribution.client import RegistryClient, RegistryError
from ops.tls import ensure_ca, install_for_docker, server_certificate
from tests.support.ownregistry import docker_cli, own_registry
from tests.support.promotionkit import PASSWORD, add_people
from tests.support.webserver import gunicorn

BASE = "lockmaster-base/busybox:latest"


@pytest.fixture
def tls_registry(tmp_path, base_image):
    """A registry of the test's own over TLS, its CA installed for the Docker engine."""
    folder = tmp_path / "tls"
    ca = ensure_ca(folder)
    cert, key = server_certificate(folder, "registry", ["127.0.0.1", "localhost"])
    with own_registry(tmp_path / "registry", tls=(str(cert), str(key))) as addr:
        installed = install_for_docker(ca, addr)
        try:
            yield addr, ca
        finally:
            shutil.rmtree(installed.parent)


def test_docker_pulls_over_tls_with_the_ca_and_a_client_without_it_is_refused(
        tls_registry, tmp_path):
    addr, ca = tls_registry
    reference = f"{addr}/production/acme/web:tls"
    config = tmp_path / "docker"
    docker_cli(config, "tag", BASE, reference)
    try:
        pushed = docker_cli(config, "push", reference)
        assert pushed.returncode == 0, pushed.stderr
        docker_cli(config, "rmi", "--no-prune", reference)
        pulled = docker_cli(config, "pull", reference)
        assert pulled.returncode == 0, pulled.stderr
    finally:
        docker_cli(config, "rmi", "--no-prune", reference)
    trusted = RegistryClient(f"https://{addr}", ca_file=str(ca))
    digest = trusted.manifest_digest("production/acme/web", "tls")
    assert digest and digest.startswith("sha256:")
    with pytest.raises(RegistryError, match="CERTIFICATE_VERIFY_FAILED"):
        RegistryClient(f"https://{addr}", attempts=1).manifest_digest("production/acme/web",
                                                                      "tls")
    empty = tmp_path / "no-certs"
    empty.mkdir()
    refused = subprocess.run(["skopeo", "inspect", "--cert-dir", str(empty),
                              f"docker://{reference}"], capture_output=True, text=True,
                             timeout=60)
    assert refused.returncode != 0 and "certificate" in refused.stderr
    # skopeo, like the engine, reads the CA installed under /etc/docker/certs.d.
    seen = subprocess.run(["skopeo", "inspect", "--format", "{{.Digest}}",
                           f"docker://{reference}"], capture_output=True, text=True, timeout=60)
    assert seen.returncode == 0 and seen.stdout.strip() == digest, seen.stderr


def test_the_web_app_over_tls_sends_hsts_and_secure_cookies(app, tmp_path):
    add_people(app)
    folder = tmp_path / "tls"
    ca = ensure_ca(folder)
    cert, key = server_certificate(folder, "web", ["127.0.0.1"])
    settings = app.extensions["lockmaster"].settings
    with gunicorn(settings, tls=(str(cert), str(key), str(ca))) as web:
        assert web.startswith("https://")
        session = requests.Session()
        health = session.get(f"{web}/healthz", timeout=30, verify=str(ca))
        assert health.headers["Strict-Transport-Security"].startswith("max-age=")
        page = session.get(f"{web}/login", timeout=30, verify=str(ca)).text
        token = page.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
        login = session.post(f"{web}/login", allow_redirects=False, timeout=30, verify=str(ca),
                             data={"username": "carol", "password": PASSWORD,
                                   "csrf_token": token})
        assert login.status_code == 302
        assert "secure" in login.headers["Set-Cookie"].lower()
        with pytest.raises(requests.exceptions.SSLError):
            requests.get(f"{web}/healthz", timeout=30)
