"""Logs are JSON lines: web requests carry a request id, job lines carry the build id."""

import json
import subprocess
import sys
from pathlib import Path

from tests.support.stack import app_environ, post_github

LOCKMASTER = str(Path(sys.executable).parent / "lockmaster")


def test_a_request_id_is_kept_or_made_and_returned(client):
    assert client.get("/healthz", headers={"X-Request-ID": "abc-123"}).headers[
        "X-Request-ID"] == "abc-123"
    made = client.get("/healthz", headers={"X-Request-ID": "bad id with spaces"})
    assert made.headers["X-Request-ID"] != "bad id with spaces"
    assert len(made.headers["X-Request-ID"]) == 32


def test_a_worker_logs_json_lines_with_the_build_id(app, client, source_repo, secret):
    response = post_github(client, source_repo.payload(), secret)
    build_id = response.get_json()["builds"][0]["id"]
    result = subprocess.run([LOCKMASTER, "worker", "--burst"], env=app_environ(app),
                            capture_output=True, text=True, timeout=300, check=True)
    lines = [json.loads(line) for line in result.stderr.splitlines() if line.strip()]
    assert lines, "the worker logged nothing"
    assert all({"ts", "level", "logger", "message"} <= set(line) for line in lines)
    in_job = [line for line in lines if line.get("build_id") == build_id]
    assert in_job, "no log line carries the build id"
    assert client.get(f"/api/v1/builds/{build_id}").get_json()["status"] == "staged"
    assert secret not in result.stderr
