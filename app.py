"""The Lockmaster web app factory and the `lockmaster` command line."""

from __future__ import annotations

import os
import shutil
import sys

import click
from flask import Flask

from bootstrap import CommandContext, Runtime, pass_command_context
from commands import auth as auth_cli
from commands import builder as builder_cli
from commands import checks as checks_cli
from commands import history as history_cli
from commands import promotion as promotion_cli
from commands import provenance as provenance_cli
from commands import registry as registry_cli
from commands import webhooks as webhooks_cli
from config import Settings, load_settings, missing_web_secrets
from ops import headers, jsonlog, multiproc


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
    from ops.health import bp as health_bp
    from ops.metrics import bp as metrics_bp
    from promotion.web import init_promotion
    from registry.web import init_registry_access
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


@click.group()
@click.pass_context
def cli(context: click.Context) -> None:
    """Lockmaster: build, check and promote container images."""
    jsonlog.configure(os.environ.get("LOCKMASTER_LOG_LEVEL", "INFO"))
    context.obj = CommandContext(create_app)


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--workers", default=2, show_default=True, type=int, help="gunicorn processes")
@click.option("--certfile", type=click.Path(exists=True, dir_okay=False),
              help="Serve HTTPS with this certificate (and --keyfile).")
@click.option("--keyfile", type=click.Path(exists=True, dir_okay=False))
@pass_command_context
def web(command: CommandContext, host: str, port: int, workers: int, certfile: str | None,
        keyfile: str | None) -> None:
    """Serve the web app (webhooks, API, UI) with gunicorn, over TLS if given a certificate."""
    settings = command.settings
    for missing in missing_web_secrets(settings, dict(os.environ)):
        click.echo(f"warning: {missing} is not set in the web's environment", err=True)
    multiproc.prepare(settings.data_dir)
    tls = ("--certfile", certfile, "--keyfile", keyfile or certfile) if certfile else ()
    argv = gunicorn_argv(f"{host}:{port}", workers, "app:create_app()", tls)
    os.execv(argv[0], argv)


def gunicorn_argv(bind: str, workers: int, app_spec: str, extra: tuple[str, ...] = ()) -> list[str]:
    """The gunicorn command line `lockmaster web` serves with (benchmarks serve their bare
    baselines with the same one, so that only the app differs)."""
    gunicorn = shutil.which("gunicorn", path=os.path.dirname(sys.executable)) or "gunicorn"
    return [gunicorn, "--bind", bind, "--workers", str(workers), *extra,
            "--config", "python:ops.gunicorn_conf",
            "--logger-class", "ops.gunicornlog.JsonLogger", app_spec]


@cli.command()
@click.option("--burst", is_flag=True, help="Stop when the queues are empty.")
@click.option("--pool", default=None, help="Build only the repositories pinned to this pool "
                                           "(`pool:` in lockmaster.yml), on this engine.")
@pass_command_context
def worker(command: CommandContext, burst: bool, pool: str | None) -> None:
    """Run one RQ worker on the builds, promotions and notifications queues, and a recorder of
    webhook deliveries beside it (SIGTERM: finish the running build, then stop; a second
    signal stops the build and records it)."""
    from bootstrap import BUILDS_QUEUE, NOTIFICATIONS_QUEUE, PROMOTIONS_QUEUE, pool_queue
    from builder.workers import LockmasterWorker
    from registry.duties import registry_duties
    from webhooks.recorder import RecorderProcess, record_all

    settings = command.settings
    multiproc.prepare(settings.data_dir, same_files_for_children=True)
    app = command.app(serves_web=False)
    runtime = command.runtime
    recorder = RecorderProcess()
    with app.app_context():
        names = [pool_queue(pool)] if pool else [BUILDS_QUEUE, PROMOTIONS_QUEUE,
                                                 NOTIFICATIONS_QUEUE]
        queues = [runtime.queue(name) for name in names]
        if burst:
            record_all(runtime)
        else:
            recorder.ensure_running()
        lockmaster_worker = LockmasterWorker(queues, runtime)
        lockmaster_worker.duties.register("recorder", recorder.CHECK_SECONDS,
                                          recorder.keep_running)
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
@pass_command_context
def db_upgrade(command: CommandContext) -> None:
    """Apply all database migrations."""
    from record.migrate import upgrade

    settings = command.settings
    upgrade(settings.database_url)
    click.echo(f"database at {settings.database_url} is up to date")


# Every command of the `lockmaster` group, in one place (each feature's cli module defines
# its commands; none registers itself).
for _command in (checks_cli.advisories, auth_cli.users_group, auth_cli.tokens_group,
                 promotion_cli.approve, history_cli.history, history_cli.lineage,
                 webhooks_cli.build, webhooks_cli.recorder, webhooks_cli.deliveries,
                 registry_cli.robots_group, registry_cli.registry_keys,
                 registry_cli.verify_registry, registry_cli.registry_setup,
                 provenance_cli.signing_keys, provenance_cli.verify, provenance_cli.sign,
                 provenance_cli.allow_unsigned, builder_cli.logs, builder_cli.cancel,
                 builder_cli.retry, builder_cli.reconcile_command, builder_cli.gc):
    cli.add_command(_command)

if __name__ == "__main__":
    cli()
