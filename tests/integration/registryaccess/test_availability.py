"""Tokens are stateless: with two web processes behind HAProxy as the registry's realm, one
restarted gracefully (SIGTERM) in the middle of a burst of pulls, no pull fails."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
from contextlib import ExitStack, contextmanager
from pathlib import Path

import pytest
from click.testing import CliRunner

from app import cli
from registry import signing
from registry.robots import own_credentials
from tests.support.guarded import BASE, use_installation
from tests.support.ownregistry import own_registry
from tests.support.stack import repo_entry
from tests.support.webserver import ROOT, environment, free_port, wait_until_serving

PULLERS = 20


def _web(settings, port: int) -> subprocess.Popen:
    """`lockmaster web` with one gunicorn worker on port, answering."""
    log = open(Path(settings.data_dir) / f"web-{port}.log", "ab")  # noqa: SIM115
    process = subprocess.Popen(
        [sys.executable, "app.py", "web", "--port", str(port), "--workers", "1"], cwd=ROOT,
        env=environment(settings), stdout=subprocess.DEVNULL, stderr=log)
    wait_until_serving(process, f"http://127.0.0.1:{port}", Path(log.name))
    return process


@contextmanager
def _haproxy(folder: Path, ports: list[int]):
    """HAProxy from Debian balancing the web processes; yields its base URL."""
    port = free_port()
    servers = "\n".join(f"  server web{n} 127.0.0.1:{p} check" for n, p in enumerate(ports))
    config = folder / "haproxy.cfg"
    config.write_text(f"""defaults
  mode http
  timeout connect 2s
  timeout client 60s
  timeout server 60s
  retries 3
  option redispatch 1
  retry-on conn-failure empty-response
frontend realm
  bind 127.0.0.1:{port}
  default_backend web
backend web
  balance roundrobin
  option httpchk GET /healthz
  default-server inter 300ms fall 1 rise 2
{servers}
""")
    process = subprocess.Popen(["haproxy", "-db", "-f", str(config)], stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    try:
        time.sleep(1)
        assert process.poll() is None, "haproxy did not start"
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=30)


def _pull_until(stop: threading.Event, addr: str, creds: str, folder: Path,
                outcomes: list[str]) -> None:
    number = 0
    while not stop.is_set():
        number += 1
        done = subprocess.run(
            ["skopeo", "copy", "--quiet", "--src-tls-verify=false", "--src-creds", creds,
             f"docker://{addr}/production/acme/web:steady", f"dir:{folder}-{number}"],
            capture_output=True, text=True, timeout=120)
        outcomes.append(done.stderr.strip() if done.returncode else "")


@pytest.mark.once
def test_a_web_process_restarted_mid_burst_loses_no_pull(make_app, source_repo, monkeypatch,
                                                         tmp_path, base_image):
    addr = f"127.0.0.1:{free_port()}"
    app = make_app([repo_entry(source_repo)], registry={
        "url": addr, "insecure": True, "auth": "token", "staging": "staging",
        "production": "production"})
    settings = use_installation(monkeypatch, app)
    made = CliRunner().invoke(cli, ["robots", "create", "fleet", "--pull", "production/*"])
    creds = f"fleet:{made.output.strip().splitlines()[-1]}"
    ports = [free_port(), free_port()]
    with ExitStack() as running:
        webs = [_web(settings, port) for port in ports]
        running.callback(lambda: [w.terminate() or w.wait(timeout=30) for w in webs])
        realm = running.enter_context(_haproxy(tmp_path, ports))
        running.enter_context(own_registry(
            tmp_path / "registry", addr=addr, realm=f"{realm}/auth/token",
            bundle=str(signing.bundle_path(settings.data_dir))))
        name = settings.registry.production
        promoter, token = own_credentials(settings, app.extensions["lockmaster"].db, "promoter")
        pushed = subprocess.run(
            ["skopeo", "copy", "--dest-tls-verify=false", "--dest-creds", f"{promoter}:{token}",
             f"docker-daemon:{BASE}", f"docker://{addr}/{name}/acme/web:steady"],
            capture_output=True, text=True, timeout=120)
        assert pushed.returncode == 0, pushed.stderr

        stop, outcomes = threading.Event(), []
        pullers = [threading.Thread(target=_pull_until,
                                    args=(stop, addr, creds, tmp_path / f"p{n}", outcomes))
                   for n in range(PULLERS)]
        for puller in pullers:
            puller.start()
        time.sleep(2)
        webs[0].send_signal(signal.SIGTERM)  # a graceful restart, as a deploy does
        assert webs[0].wait(timeout=60) == 0
        webs[0] = _web(settings, ports[0])
        time.sleep(3)
        stop.set()
        for puller in pullers:
            puller.join(timeout=180)
    failures = [o for o in outcomes if o]
    assert not failures and len(outcomes) >= 2 * PULLERS, (len(outcomes), failures[:3])
