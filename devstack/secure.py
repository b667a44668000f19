"""`make run` with TLS (LOCKMASTER_TLS=1): a local CA, a registry of its own on 127.0.0.1:5443
(LOCKMASTER_TLS_REGISTRY_PORT) with token auth, notifications and TLS, and the web app over
HTTPS."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import requests

from config import load_settings
from devstack.services import Service, binary
from ops import tls
from registry.setup import RegistryPlan, prepare

TLS_REGISTRY = f"127.0.0.1:{os.environ.get('LOCKMASTER_TLS_REGISTRY_PORT', '5443')}"
EVENTS_ENV = "LOCKMASTER_REGISTRY_EVENTS_SECRET"
SYSTEM_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")


def enabled() -> bool:
    """True when `make run` should serve TLS and guard the registry with tokens."""
    return os.environ.get("LOCKMASTER_TLS", "") not in ("", "0", "false", "no")


def tls_dir(data_dir: Path) -> Path:
    """The local CA, the certificates and the registry's config."""
    return data_dir / "tls"


def registry_section(data_dir: Path) -> dict:
    """lockmaster.yml's registry section for the guarded TLS registry."""
    return {"url": TLS_REGISTRY, "insecure": False, "staging": "staging",
            "production": "production", "auth": "token", "events_secret_env": EVENTS_ENV,
            "ca_file": str(tls_dir(data_dir) / "ca.crt")}


def trust_local_ca(data_dir: Path) -> Path:
    """Make the CA, install it for the Docker engine and, through a bundle with the system's
    CAs, for Lockmaster's clients and the registry; returns the web certificate's folder."""
    folder = tls_dir(data_dir)
    ca = tls.ensure_ca(folder)
    if not (folder / "web.crt").exists():
        tls.server_certificate(folder, "web", ["127.0.0.1", "localhost"])
    bundle = folder / "trusted.pem"
    system = SYSTEM_BUNDLE.read_bytes() if SYSTEM_BUNDLE.exists() else b""
    bundle.write_bytes(system + b"\n" + ca.read_bytes())
    for name in ("REQUESTS_CA_BUNDLE", "SSL_CERT_FILE", "CURL_CA_BUNDLE"):
        os.environ[name] = str(bundle)
    tls.install_for_docker(ca, TLS_REGISTRY)
    os.environ.setdefault(EVENTS_ENV, _events_secret(folder))
    return folder


def guarded_registry(web_url: str) -> Service:
    """The TLS, token-auth registry as a devstack service."""
    return Service("registry-tls", _answers, lambda data_dir: _command(data_dir, web_url))


def _answers() -> bool:
    try:
        return requests.get(f"https://{TLS_REGISTRY}/v2/", timeout=2).status_code in (200, 401)
    except requests.RequestException:
        return False


def _command(data_dir: Path, web_url: str) -> list[str]:
    settings = load_settings()
    plan = RegistryPlan(TLS_REGISTRY, web_url, web_url, str(data_dir / "registry-tls"),
                        ("127.0.0.1", "localhost"))
    config = prepare(settings, plan, tls_dir(data_dir))
    return [binary("docker-registry"), "serve", str(config)]


def _events_secret(folder: Path) -> str:
    path = folder / "registry-events-secret"
    if not path.exists():
        path.write_text(secrets.token_hex(20))
        path.chmod(0o600)
    return path.read_text().strip()
