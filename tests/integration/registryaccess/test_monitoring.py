"""Monitoring of the registry with the real things: the probe a worker runs, Lockmaster's and
the registry's /metrics, promtool on the shipped rules, and a real Prometheus alerting."""

from __future__ import annotations

import re
import subprocess
import time
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests
import yaml

from builder.duties import Duties
from registry.duties import registry_duties
from tests.support.guarded import Guarded
from tests.support.promotionkit import PASSWORD
from tests.support.webserver import free_port

RULES = Path(__file__).resolve().parents[3] / "ops" / "prometheus"


@pytest.mark.once
def test_the_shipped_alert_rules_pass_promtool():
    checked = subprocess.run(["promtool", "check", "rules", "alerts.yml"], cwd=RULES,
                             capture_output=True, text=True, timeout=60)
    assert checked.returncode == 0 and "SUCCESS: 7 rules found" in checked.stdout, checked
    tested = subprocess.run(["promtool", "test", "rules", "alerts_test.yml"], cwd=RULES,
                            capture_output=True, text=True, timeout=120)
    assert tested.returncode == 0 and "SUCCESS" in tested.stdout, tested.stdout + tested.stderr


def _registry_up(guarded: Guarded) -> float | None:
    text = requests.get(f"{guarded.web}/metrics", timeout=10).text
    found = re.search(r"^lockmaster_registry_up (\S+)$", text, re.M)
    return float(found.group(1)) if found else None


def _status_page(guarded: Guarded) -> str:
    """/status as an admin sees it."""
    with requests.Session() as browser:
        login = browser.get(f"{guarded.web}/login", timeout=10).text
        csrf = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', login).group(1)
        browser.post(f"{guarded.web}/login", timeout=10,
                     data={"username": "erin", "password": PASSWORD, "csrf_token": csrf})
        page = browser.get(f"{guarded.web}/status", timeout=10)
    assert page.status_code == 200 and page.url.endswith("/status"), page.url
    return page.text


def _until(condition, seconds: float) -> float:
    """Seconds until condition() held (AssertionError after `seconds`)."""
    started = time.monotonic()
    while not condition():
        assert time.monotonic() - started < seconds, f"not within {seconds}s"
        time.sleep(0.2)
    return time.monotonic() - started


@contextmanager
def _prometheus(tmp_path: Path, targets: dict[str, str]):
    """A Prometheus of the test's own (1 s scrapes and evaluations, a copy of the shipped rules
    with RegistryDown's `for:` cut to 5 s); yields its base URL."""
    rules = yaml.safe_load((RULES / "alerts.yml").read_text())
    for group in rules["groups"]:
        for rule in group["rules"]:
            if rule["alert"] == "RegistryDown":
                rule["for"] = "5s"
    (tmp_path / "rules.yml").write_text(yaml.safe_dump(rules))
    (tmp_path / "prometheus.yml").write_text(yaml.safe_dump({
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "rule_files": [str(tmp_path / "rules.yml")],
        "scrape_configs": [{"job_name": job, "static_configs": [{"targets": [target]}]}
                           for job, target in targets.items()]}))
    port = free_port()
    with open(tmp_path / "prometheus.log", "wb") as log:
        process = subprocess.Popen(
            ["prometheus", f"--config.file={tmp_path / 'prometheus.yml'}",
             f"--storage.tsdb.path={tmp_path / 'tsdb'}", f"--web.listen-address=127.0.0.1:{port}"],
            stdout=log, stderr=subprocess.STDOUT)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=30)


def _scraped(prometheus: str, query: str) -> float | None:
    try:
        result = requests.get(f"{prometheus}/api/v1/query", params={"query": query},
                              timeout=5).json()["data"]["result"]
    except (requests.RequestException, ValueError):
        return None
    return float(result[0]["value"][1]) if result else None


def _firing(prometheus: str, name: str) -> bool:
    try:
        alerts = requests.get(f"{prometheus}/api/v1/alerts", timeout=5).json()["data"]["alerts"]
    except (requests.RequestException, ValueError):
        return False
    return any(a["labels"]["alertname"] == name and a["state"] == "firing" for a in alerts)


@pytest.mark.once
def test_a_stopped_registry_flips_the_probe_and_fires_registry_down(guarded, tmp_path):
    guarded.skopeo_copy("promoter", guarded.ref("production", "probe"))
    registry_metrics = requests.get(f"http://{guarded.metrics_addr}/metrics", timeout=10).text
    assert "registry_http_requests_total" in registry_metrics
    duties = Duties(guarded.runtime.redis)  # what every worker runs, every probe_seconds
    duties.register("registry", guarded.settings.registry.probe_seconds,
                    lambda: registry_duties(guarded.runtime), shared=True)
    duties.start()
    try:
        _until(lambda: _registry_up(guarded) == 1, 5)
        with _prometheus(tmp_path, {"lockmaster": guarded.web.removeprefix("http://"),
                                    "registry": guarded.metrics_addr}) as prometheus:
            _until(lambda: _scraped(prometheus, "lockmaster_registry_up") == 1.0, 30)
            _until(lambda: _scraped(prometheus, 'up{job="registry"}') == 1.0, 30)  # its own
            assert not _firing(prometheus, "RegistryDown")
            guarded.stop_registry()
            interval = guarded.settings.registry.probe_seconds
            assert _until(lambda: _registry_up(guarded) == 0, 2 * interval + 1) \
                <= 2 * interval + 1
            down = _status_page(guarded)
            assert re.search(r'id="registry-up"><strong>DOWN</strong>', down), down
            assert "No worker seen." in down and "<td>builds</td><td>0</td>" in down
            _until(lambda: _firing(prometheus, "RegistryDown"), 90)
            guarded.start_registry()
            _until(lambda: _registry_up(guarded) == 1, 2 * interval + 1)
            assert 'id="registry-up"><strong>up</strong>' in _status_page(guarded)
    finally:
        duties.stop()
