"""The distribution registry's config.yml for token auth, notifications, TLS and metrics."""

from __future__ import annotations

from dataclasses import dataclass

import yaml


@dataclass(frozen=True)
class RegistryServer:
    """What a registry needs to know to trust Lockmaster and report to it."""

    addr: str
    root: str
    realm: str | None = None
    service: str = "lockmaster-registry"
    bundle: str | None = None
    events_url: str | None = None
    events_secret: str | None = None
    tls_cert: str | None = None
    tls_key: str | None = None
    metrics_addr: str | None = None  # distribution's debug server, with Prometheus on


def render(server: RegistryServer) -> str:
    """The registry's config.yml (token auth, notifications and TLS only when given)."""
    http: dict = {"addr": server.addr, "headers": {"X-Content-Type-Options": ["nosniff"]}}
    if server.metrics_addr:
        http["debug"] = {"addr": server.metrics_addr,
                         "prometheus": {"enabled": True, "path": "/metrics"}}
    if server.tls_cert:
        http["tls"] = {"certificate": server.tls_cert, "key": server.tls_key}
    document: dict = {
        "version": 0.1,
        "log": {"level": "info", "fields": {"service": "registry"}},
        "storage": {"filesystem": {"rootdirectory": server.root}, "delete": {"enabled": True}},
        "http": http,
    }
    if server.realm:
        document["auth"] = {"token": {"realm": server.realm, "service": server.service,
                                      "issuer": "lockmaster", "rootcertbundle": server.bundle}}
    if server.events_url:
        document["notifications"] = {"endpoints": [{
            "name": "lockmaster", "url": server.events_url, "timeout": "5s",
            "threshold": 5, "backoff": "2s",
            "headers": {"Authorization": [f"Bearer {server.events_secret}"]},
            "ignoredmediatypes": ["application/octet-stream"],
        }]}
    return yaml.safe_dump(document, sort_keys=False)
