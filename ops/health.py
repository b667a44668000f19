"""Liveness and readiness endpoints for load balancers and operators."""

from __future__ import annotations

from flask import Blueprint, jsonify
from sqlalchemy import text

from bootstrap import current_runtime
from distribution.client import RegistryClient, RegistryError

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    """The process is alive."""
    return jsonify({"status": "ok"})


@bp.get("/readyz")
def readyz():
    """Database, Redis, registry and Docker each answer; 503 names those that do not."""
    runtime = current_runtime()
    checks = {"database": _database, "redis": _redis, "registry": _registry, "docker": _docker}
    failing = {}
    for name, check in checks.items():
        try:
            check(runtime)
        except Exception as exc:  # any failure means not ready; the message names it
            failing[name] = str(exc) or type(exc).__name__
    if failing:
        return jsonify({"status": "unavailable", "failing": failing}), 503
    return jsonify({"status": "ready"})


def _database(runtime) -> None:
    with runtime.db.session() as session:
        session.execute(text("SELECT 1"))


def _redis(runtime) -> None:
    runtime.redis.ping()


def _registry(runtime) -> None:
    client = RegistryClient(runtime.settings.registry.base_url, timeout=3,
                            ca_file=runtime.settings.registry.ca_file)
    status = client.base_status()
    if status not in (200, 401):
        raise RegistryError(f"/v2/ answered {status}")


def _docker(runtime) -> None:
    runtime.docker().ping()
