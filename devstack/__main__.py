"""`python -m devstack run`: what `make run` does after installing packages and the venv."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import click
import docker
import requests

from devstack import demo, secure
from devstack.baseimage import ensure_base_image
from devstack.gitpush import push_payload, send_push
from devstack.services import ServiceError, ServiceSet

PORT = int(os.environ.get("LOCKMASTER_WEB_PORT", "8000"))
WEB = f"{'https' if secure.enabled() else 'http'}://127.0.0.1:{PORT}"
REGISTRY = f"https://{secure.TLS_REGISTRY}" if secure.enabled() else "http://127.0.0.1:5000"


@click.group()
def main() -> None:
    """The local Lockmaster stack."""


@main.command()
def run() -> None:
    """Start services, the web app and a worker; on first start, build the demo."""
    data_dir = Path(os.environ.setdefault("LOCKMASTER_DATA_DIR", "var")).resolve()
    config_path = Path(os.environ.setdefault("LOCKMASTER_CONFIG", "lockmaster.yml")).resolve()
    os.environ.setdefault(demo.SECRET_ENV, demo.demo_secret(data_dir))
    services = ServiceSet(data_dir)
    children: list[subprocess.Popen] = []
    signal.signal(signal.SIGINT, _interrupt)  # even where a parent shell ignores it
    signal.signal(signal.SIGTERM, _interrupt)
    signal.signal(signal.SIGHUP, _interrupt)
    try:
        _say("starting services that do not answer yet (dockerd, registry, redis)")
        services.ensure()
        ensure_base_image(docker.from_env())
        first_start = not config_path.exists()
        registry = secure.registry_section(data_dir) if secure.enabled() else None
        if first_start:
            repo = demo.create_demo_repository(data_dir)
            demo.write_config(config_path, repo, registry)
            _say(f"created the demo repository {repo} and {config_path}")
        web_tls = []
        if secure.enabled():
            folder = secure.trust_local_ca(data_dir)
            services.ensure([secure.guarded_registry(WEB)])
            web_tls = ["--certfile", str(folder / "web.crt"), "--keyfile", str(folder / "web.key")]
            _say(f"TLS on: local CA {folder / 'ca.crt'}, registry https://{secure.TLS_REGISTRY}")
        _lockmaster("db", "upgrade")
        _lockmaster("users", "bootstrap-admin")
        children.append(_spawn(data_dir, "web", "--host", "127.0.0.1", "--port", str(PORT),
                               *web_tls))
        children.append(_spawn(data_dir, "worker"))
        _wait_for_web(children[0])
        if first_start:
            _run_demo_build(data_dir)
        _print_where_to_look(data_dir)
        _wait(children)
    except (ServiceError, click.ClickException) as exc:
        _say(f"error: {exc}")
        sys.exit(1)
    except KeyboardInterrupt:
        _say("stopping what this command started")
    finally:
        for child in reversed(children):
            _stop(child)
        services.stop()


@main.command()
def up() -> None:
    """Start the services that do not answer and leave them running (for development)."""
    data_dir = Path(os.environ.get("LOCKMASTER_DATA_DIR", "var")).resolve()
    services = ServiceSet(data_dir)
    services.ensure()
    for service, process in services.started:
        _say(f"started {service.name} (pid {process.pid}); logs in {data_dir}/log/")
    if not services.started:
        _say("dockerd, the registry and redis already answer")


def _interrupt(_signum, _frame) -> None:
    """Ctrl-C, SIGTERM and SIGHUP stop the stack; further signals must not cut the cleanup."""
    for number in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(number, signal.SIG_IGN)
    raise KeyboardInterrupt


def _lockmaster(*args: str) -> None:
    subprocess.run([_lockmaster_bin(), *args], check=True)


def _lockmaster_bin() -> str:
    return str(Path(sys.executable).parent / "lockmaster")


def _spawn(data_dir: Path, *args: str) -> subprocess.Popen:
    log_dir = data_dir / "log"
    log_dir.mkdir(parents=True, exist_ok=True)
    log_file = open(log_dir / f"{args[0]}.log", "ab")  # noqa: SIM115 (lives with the child)
    return subprocess.Popen([_lockmaster_bin(), *args], stdout=log_file, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL, start_new_session=True)


def _wait_for_web(web: subprocess.Popen) -> None:
    for _ in range(150):
        if web.poll() is not None:
            raise click.ClickException("the web app exited; see var/log/web.log")
        try:
            if requests.get(f"{WEB}/healthz", timeout=1).ok:
                return
        except requests.RequestException:
            time.sleep(0.2)
    raise click.ClickException(f"the web app did not answer at {WEB}; see var/log/web.log")


def _run_demo_build(data_dir: Path) -> None:
    repo = demo.demo_dir(data_dir) / "hello"
    response = send_push(WEB, os.environ[demo.SECRET_ENV], push_payload(repo, demo.DEMO_NAME))
    _say(f"sent a signed GitHub push webhook for the demo commit: HTTP {response.status_code}")
    if response.status_code != 202:
        raise click.ClickException(f"the webhook was not accepted: {response.text}")
    build_url = WEB + response.json()["builds"][0]["url"]
    shown = 0
    for _ in range(1200):
        answer = requests.get(build_url, timeout=5)
        if answer.status_code != 200:
            raise click.ClickException(f"GET {build_url} answered {answer.status_code}: "
                                       f"{answer.text}; see var/log/web.log and worker.log")
        build = answer.json()
        for step in build["history"][shown:]:
            _say(f"build {build['id'][:8]}: {step['status']}")
        shown = len(build["history"])
        if build["finished_at"]:
            break
        time.sleep(0.25)
    if build["status"] == "staged":
        _say(f"staged {build['image']['repository']}@{build['image']['digest']}")
    else:
        _say(f"the demo build ended {build['status']}: {build.get('error')}")
    _say(f"build record: {build_url}\n  log: {build_url}/log")


def _print_where_to_look(data_dir: Path) -> None:
    _say(f"""Lockmaster is running (Ctrl-C stops what `make run` started).
  web, webhooks, API:   {WEB}   (try {WEB}/api/v1/builds)
  approvals UI:         {WEB}/   (log in as admin; `lockmaster users add` for others)
  webhook endpoint:     {WEB}/webhooks/github   (secret in ${demo.SECRET_ENV})
  registry:             {REGISTRY}
  logs:                 {data_dir}/log/   (web.log, worker.log, dockerd.log, ...)
  CLI:                  .venv/bin/lockmaster --help""")


def _wait(children: list[subprocess.Popen]) -> None:
    while all(child.poll() is None for child in children):
        time.sleep(1)
    raise click.ClickException("a Lockmaster process exited; see var/log/")


def _stop(child: subprocess.Popen) -> None:
    if child.poll() is None:
        child.send_signal(signal.SIGTERM)
        try:
            child.wait(timeout=30)
        except subprocess.TimeoutExpired:
            child.kill()


def _say(message: str) -> None:
    click.echo(f"[lockmaster] {message}", err=False)


if __name__ == "__main__":
    main()
