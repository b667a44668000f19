"""The Lockmaster web app factory and the `lockmaster` command line."""

from __future__ import annotations

import os
import shutil
import sys

import click
from flask import Flask

from auth.cli import tokens_group, users_group
from bootstrap import Runtime
from builder.checks.cli import advisories
from builder.cli import register as register_build_commands
from config import ConfigError, Settings, load_settings, missing_web_secrets
from lineage import cli as history_cli
from ops import headers, jsonlog, multiproc
from promotion.cli import approve
from provenance import cli as provenance_cli
from registry import cli as registry_cli
from webhooks import cli as webhooks_cli


class LockmasterFlask(Flask):
    """Flask that checks each view and hook once for being a coroutine function: Flask asks
    `inspect` again on every call (ten times a request here), and Lockmaster has no async
    views, so the answer never changes."""

    def ensure_sync(self, func):
        """The callable to run for func (func itself unless it is a coroutine function)."""
        known = self.__dict__.setdefault("_ensured", {})
        ensured = known.get(func)
        if ensured is None:
            ensured = super().ensure_sync(func)
            if len(known) < _MAX_ENSURED:  # views and hooks: a fixed set
                known[func] = ensured
        return ensured


_MAX_ENSURED = 4096


def create_app(settings: Settings | None = None, *, serves_web: bool = True) -> Flask:
    """Build the Flask app for one installation (settings from the environment by default);
    a worker's app (serves_web=False) signs no sessions, so it never reads or makes the key."""
    settings = settings or load_settings()
    app = LockmasterFlask(__name__)
    app.config["LOCKMASTER_SERVES_WEB"] = serves_web
    jsonlog.init_app(app)  # first, so every request has an id before other hooks answer
    app.config["MAX_CONTENT_LENGTH"] = settings.max_webhook_bytes
    app.json.sort_keys = False
    app.extensions["lockmaster"] = Runtime(settings)

    from api import bp as api_bp
    from auth.sessions import init_auth
    from health import bp as health_bp
    from ops.metrics import bp as metrics_bp
    from promotion.web import init_promotion
    from registry.views import init_registry_access
    from ui import init_ui
    from webhooks.views import bp as webhooks_bp

    app.register_blueprint(health_bp)
    app.register_blueprint(webhooks_bp)
    app.register_blueprint(api_bp)
    app.register_blueprint(metrics_bp)
    init_auth(app)
    init_promotion(app)
    init_ui(app)
    init_registry_access(app)
    app.register_error_handler(413, _too_large)
    headers.init_app(app)
    return app


def _too_large(_error):
    return {"error": "the request body is larger than the configured limit "
                     "(webhooks.max_body_mb in lockmaster.yml)"}, 413


def _settings_or_exit() -> Settings:
    try:
        return load_settings()
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from exc


@click.group()
def cli() -> None:
    """Lockmaster: build, check and promote container images."""
    jsonlog.configure(os.environ.get("LOCKMASTER_LOG_LEVEL", "INFO"))


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--workers", default=2, show_default=True, type=int, help="gunicorn processes")
@click.option("--certfile", type=click.Path(exists=True, dir_okay=False),
              help="Serve HTTPS with this certificate (and --keyfile).")
@click.option("--keyfile", type=click.Path(exists=True, dir_okay=False))
def web(host: str, port: int, workers: int, certfile: str | None, keyfile: str | None) -> None:
    """Serve the web app (webhooks, API, UI) with gunicorn, over TLS if given a certificate."""
    settings = _settings_or_exit()
    for missing in missing_web_secrets(settings, dict(os.environ)):
        click.echo(f"warning: {missing} is not set in the web's environment", err=True)
    multiproc.prepare(settings.data_dir)
    gunicorn = shutil.which("gunicorn", path=os.path.dirname(sys.executable)) or "gunicorn"
    tls = ["--certfile", certfile, "--keyfile", keyfile or certfile] if certfile else []
    os.execv(gunicorn, [gunicorn, "--bind", f"{host}:{port}", "--workers", str(workers), *tls,
                        "--config", "python:ops.gunicorn_conf",
                        "--logger-class", "ops.gunicornlog.JsonLogger", "app:create_app()"])


@cli.command()
@click.option("--burst", is_flag=True, help="Stop when the queues are empty.")
@click.option("--pool", default=None, help="Build only the repositories pinned to this pool "
                                           "(`pool:` in lockmaster.yml), on this engine.")
def worker(burst: bool, pool: str | None) -> None:
    """Run one RQ worker on the builds, promotions and notifications queues, and a recorder of
    webhook deliveries beside it (SIGTERM: finish the running build, then stop; a second
    signal stops the build and records it)."""
    from bootstrap import BUILDS_QUEUE, NOTIFICATIONS_QUEUE, PROMOTIONS_QUEUE
    from builder.dispatch import pool_queue
    from builder.workers import LockmasterWorker
    from registry.duties import registry_duties
    from webhooks.recording import RecorderProcess, record_all

    settings = _settings_or_exit()
    multiproc.prepare(settings.data_dir, same_files_for_children=True)
    app = create_app(settings, serves_web=False)
    runtime = app.extensions["lockmaster"]
    recorder = RecorderProcess()
    with app.app_context():
        names = [pool_queue(pool)] if pool else [BUILDS_QUEUE, PROMOTIONS_QUEUE,
                                                 NOTIFICATIONS_QUEUE]
        queues = [runtime.queue(name) for name in names]
        if burst:
            record_all(runtime)
        else:
            recorder.ensure_running()
        lockmaster_worker = LockmasterWorker(queues, runtime, recorder=recorder)
        lockmaster_worker.duties.register("registry", settings.registry.probe_seconds,
                                          lambda: registry_duties(runtime), shared=True)
        try:
            lockmaster_worker.work(burst=burst)
        finally:
            recorder.stop()


@cli.group()
def db() -> None:
    """Database schema commands."""


@db.command("upgrade")
def db_upgrade() -> None:
    """Apply all database migrations."""
    from lineage.migrate import upgrade

    settings = _settings_or_exit()
    upgrade(settings.database_url)
    click.echo(f"database at {settings.database_url} is up to date")


cli.add_command(advisories)
cli.add_command(users_group)
cli.add_command(tokens_group)
cli.add_command(approve)
cli.add_command(history_cli.history)
cli.add_command(history_cli.lineage)

webhooks_cli.add_commands(cli)
registry_cli.add_commands(cli)
provenance_cli.add_commands(cli)
register_build_commands(cli)

if __name__ == "__main__":
    cli()
