"""Registry access in the web app: the token and event endpoints, the token endpoint answered
before Flask, the status page, HSTS under TLS and the registry's metrics."""

from __future__ import annotations

from flask import Flask, request

from bootstrap import current_runtime
from ops import metrics
from registry import integrity
from registry.probe import ProbeCollector
from registry.statuspage import bp as status_bp
from registry.tokenwsgi import TokenEndpoint
from registry.verify import MismatchCollector
from registry.views import HSTS, bp


def init_registry_access(app: Flask) -> None:
    """Register the token and event endpoints, the status page, the HSTS header and the
    registry's metrics (read at scrape time)."""
    app.register_blueprint(bp)
    app.wsgi_app = TokenEndpoint(app, app.wsgi_app)
    metrics.collect_at_scrape(app, MismatchCollector)
    metrics.collect_at_scrape(app, ProbeCollector)
    app.register_blueprint(status_bp)
    app.after_request(_hsts)
    app.jinja_env.globals["integrity_alerts"] = \
        lambda: integrity.recent_alerts(current_runtime().db)


def _hsts(response):
    if request.is_secure:
        response.headers.setdefault("Strict-Transport-Security", HSTS)
    return response
