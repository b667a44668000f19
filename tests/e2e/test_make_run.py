"""What `make run` does after installing: services, web, worker, and the demo build staged."""

import os
import signal
import subprocess
import sys
from pathlib import Path

import requests

from tests.support.processes import free_port, read_until
from tests.support.stack import REDIS_DB

ROOT = Path(__file__).resolve().parents[2]


def test_first_start_stages_the_demo_and_ctrl_c_stops_it(services, tmp_path, database_url):
    port = free_port()
    env = {**os.environ, "LOCKMASTER_DATA_DIR": str(tmp_path / "var"),
           "LOCKMASTER_CONFIG": str(tmp_path / "lockmaster.yml"),
           "LOCKMASTER_WEB_PORT": str(port), "LOCKMASTER_DATABASE_URL": database_url,
           "LOCKMASTER_REDIS_URL": f"redis://127.0.0.1:6379/{REDIS_DB + 1}"}
    env.pop("LOCKMASTER_DEMO_SECRET", None)
    process = subprocess.Popen([sys.executable, "-m", "devstack", "run"], cwd=ROOT, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        output = read_until(process, "Lockmaster is running", timeout=180)
        assert "build " in output and ": queued" in output and ": staged" in output
        assert "staged 127.0.0.1:5000/staging/demo/hello@sha256:" in output
        assert "created user 'admin' with the one-time password: " in output
        builds = requests.get(f"http://127.0.0.1:{port}/api/v1/builds", timeout=5).json()
        assert builds["items"][0]["status"] == "staged"
        assert (tmp_path / "lockmaster.yml").exists()
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=60)
    assert "stopping what this command started" in process.stdout.read()
    try:
        requests.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
        raise AssertionError("the web app still answers after Ctrl-C")
    except requests.ConnectionError:
        pass

    again = subprocess.Popen([sys.executable, "-m", "devstack", "run"], cwd=ROOT, env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        output = read_until(again, "Lockmaster is running", timeout=120)
        assert "created the demo repository" not in output
        builds = requests.get(f"http://127.0.0.1:{port}/api/v1/builds", timeout=5).json()
        assert len(builds["items"]) == 1
    finally:
        again.send_signal(signal.SIGINT)
        again.wait(timeout=60)
