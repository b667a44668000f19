"""An installation with token auth, a registry of its own trusting it and a gunicorn serving
it: what the registry access tests drive."""

from __future__ import annotations

import subprocess
import time
from contextlib import ExitStack

from record.audit import AuditEvent
from registry import signing, tokenaudit, tokentally
from registry.robots import own_credentials
from tests.support.ownregistry import docker_cli

EVENTS_ENV = "LOCKMASTER_TEST_EVENTS_SECRET"
BASE = "lockmaster-base/busybox:latest"


class Guarded:
    """An app, its web server, and a registry of the test's own that trusts it."""

    def __init__(self, app, addr: str, web: str, docker_config, registry):
        self.app, self.addr, self.web, self.docker_config = app, addr, web, docker_config
        self.runtime = app.extensions["lockmaster"]
        self.settings = self.runtime.settings
        self._registry, self._running = registry, ExitStack()

    @property
    def metrics_addr(self) -> str:
        """host:port of the test registry's own Prometheus metrics."""
        return self._registry.keywords["metrics_addr"]

    def start_registry(self) -> None:
        """Start the test's registry (it reads the certificate bundle now, and only now)."""
        self._running.enter_context(self._registry())

    def stop_registry(self) -> None:
        """Stop the test's registry; its storage stays for the next start."""
        self._running.close()

    def ref(self, environment: str, tag: str, image: str = "acme/web") -> str:
        """host:port/prefix/image:tag in the test's registry."""
        return f"{self.addr}/{self.settings.registry.path(environment, image)}:{tag}"

    def docker(self, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
        """The docker CLI with this test's own logins."""
        return docker_cli(self.docker_config, *args, stdin=stdin)

    def login(self, username: str, password: str) -> subprocess.CompletedProcess:
        """`docker login` to the test's registry."""
        return self.docker("login", self.addr, "-u", username, "--password-stdin",
                           stdin=password + "\n")

    def push(self, reference: str) -> subprocess.CompletedProcess:
        """Tag the local base image as reference and push it."""
        self.docker("tag", BASE, reference)
        try:
            return self.docker("push", reference)
        finally:
            self.docker("rmi", "--no-prune", reference)

    def skopeo_copy(self, purpose: str, reference: str) -> str:
        """Copy the local base image to reference with skopeo, as one of Lockmaster's own
        robots (e.g. a leaked promoter credential used by hand); returns the robot's name."""
        name, token = self.robot(purpose)
        copied = subprocess.run(
            ["skopeo", "copy", "--dest-tls-verify=false", "--dest-creds", f"{name}:{token}",
             f"docker-daemon:{BASE}", f"docker://{reference}"],
            capture_output=True, text=True, timeout=120)
        assert copied.returncode == 0, copied.stderr
        return name

    def robot(self, purpose: str) -> tuple[str, str]:
        """Lockmaster's own builder or promoter credentials."""
        return own_credentials(self.settings, self.runtime.db, purpose)

    def audit(self, action: str = "registry-token") -> list[AuditEvent]:
        """The audit events of one kind, oldest first (token grants counted so far written
        first, as a worker's periodic duty writes them, once the web processes have handed
        their counts to Redis)."""
        if action == tokenaudit.ACTION:
            time.sleep(tokentally.FLUSH_SECONDS + 0.5)
        tokenaudit.flush(self.runtime.redis, self.runtime.db, everything=True)
        with self.runtime.db.session() as session:
            return list(session.query(AuditEvent).filter_by(action=action)
                        .order_by(AuditEvent.id))


def use_installation(monkeypatch, app):
    """Point the `lockmaster` CLI of this process at the app's installation; its settings."""
    settings = app.extensions["lockmaster"].settings
    for name in ("LOCKMASTER_DATA_DIR", "LOCKMASTER_CONFIG", "LOCKMASTER_DATABASE_URL",
                 "LOCKMASTER_REDIS_URL"):
        monkeypatch.setenv(name, {"LOCKMASTER_DATA_DIR": str(settings.data_dir),
                                  "LOCKMASTER_CONFIG": str(settings.config_path),
                                  "LOCKMASTER_DATABASE_URL": settings.database_url,
                                  "LOCKMASTER_REDIS_URL": settings.redis_url}[name])
    signing.load_or_create(settings.data_dir)
    return settings
