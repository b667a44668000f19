"""The one /api/v1 blueprint: its guard and problem documents cover paths and methods no
feature serves, and the CLI's commands report a bad configuration cleanly."""

from __future__ import annotations

from click.testing import CliRunner

from app import cli
from tests.support.stack import app_environ, repo_entry

PROBLEM = "application/problem+json"


def test_unknown_paths_and_methods_are_problems_behind_the_token_check(make_app, source_repo):
    app = make_app([repo_entry(source_repo)])
    client = app.test_client()
    for path in ("/api/v1/", "/api/v1/nothing", "/api/v1/builds/", "/api/v1/builds/x/y/z",
                 "/api/v1/repositories/x%0A", "/api/v1/%0A"):  # `.` stops at a newline
        answer = client.get(path)
        assert (answer.status_code, answer.mimetype) == (404, PROBLEM), path
        assert answer.get_json()["title"] == "Not Found"
    for method, path in (("DELETE", "/api/v1/builds"), ("GET", "/api/v1/builds/x/cancel"),
                         ("PUT", "/api/v1/openapi.json")):
        answer = client.open(path, method=method)
        assert (answer.status_code, answer.mimetype) == (405, PROBLEM), (method, path)
    anonymous = client.get("/api/v1/nothing", headers={"Authorization": ""})
    assert (anonymous.status_code, anonymous.mimetype) == (401, PROBLEM)
    assert client.get("/api/v1").mimetype != PROBLEM  # outside the API, as before
    assert client.get("/api/v1/nothing\x00").status_code == 400


def test_routing_answers_stay_as_werkzeug_gives_them(make_app, source_repo):
    app = make_app([repo_entry(source_repo)])
    client = app.test_client()
    options = client.options("/api/v1/builds")
    assert options.status_code == 200
    assert set(options.headers["Allow"].split(", ")) == {"GET", "HEAD", "POST", "OPTIONS"}
    redirect = client.get("/api/v1//builds?limit=1")
    assert redirect.status_code == 308
    assert redirect.headers["Location"].endswith("/api/v1/builds?limit=1")


def test_a_command_with_a_broken_configuration_says_why_in_one_line(make_app, source_repo,
                                                                     tmp_path):
    app = make_app([repo_entry(source_repo)])
    environ = {**app_environ(app), "LOCKMASTER_CONFIG": str(tmp_path / "missing.yml")}
    for command in (["history"], ["users", "list"], ["logs", "x"], ["deliveries", "list"]):
        result = CliRunner().invoke(cli, command, env=environ)
        assert result.exit_code == 1, (command, result.output)
        assert result.output.startswith("Error: ") and "missing.yml" in result.output
        assert "Traceback" not in result.output
