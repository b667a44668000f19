"""Everything a registry needs to trust Lockmaster: bundle, TLS certificates, config.yml."""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from config import Settings
from ops import tls
from registry import signing
from registry.serverconfig import RegistryServer, render


@dataclass(frozen=True)
class RegistryPlan:
    """Where the registry listens and where it reaches Lockmaster."""

    listen: str
    web_url: str
    events_url: str
    storage: str
    tls_hosts: tuple[str, ...] = ()
    metrics_listen: str | None = None


def prepare(settings: Settings, plan: RegistryPlan, folder: Path) -> Path:
    """Write folder/config.yml (plus bundle.pem and, with TLS hosts, the CA and certificates);
    returns the config's path."""
    folder.mkdir(parents=True, exist_ok=True)
    registry = settings.registry
    signing.load_or_create(settings.data_dir)
    shutil.copyfile(signing.bundle_path(settings.data_dir), folder / "bundle.pem")
    cert = key = None
    if plan.tls_hosts:
        tls.ensure_ca(folder)
        cert, key = (str(p) for p in tls.server_certificate(folder, "registry",
                                                            list(plan.tls_hosts)))
        tls.server_certificate(folder, "web", list(plan.tls_hosts))
    secret = os.environ.get(registry.events_secret_env or "", "")
    server = RegistryServer(
        addr=plan.listen, root=plan.storage, service=registry.service,
        realm=f"{plan.web_url}/auth/token" if registry.auth == "token" else None,
        bundle=str(folder / "bundle.pem"),
        events_url=f"{plan.events_url}/registry/events" if secret else None,
        events_secret=secret or None, tls_cert=cert, tls_key=key,
        metrics_addr=plan.metrics_listen)
    (folder / "config.yml").write_text(render(server))
    return folder / "config.yml"
