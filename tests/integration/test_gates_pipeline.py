"""Gates inside the build: a failing gate keeps the image out of staging, results in the API."""

import base64
import os

import yaml

from builder.buildlog import live_lines
from tests.support.gateimages import AWS_KEY_ID
from tests.support.stack import post_github, registry_get, repo_entry, work

GATES = ["size", "lint", "sbom", "vulnerabilities", "secrets", "policy", "tests"]


def _built(app, client, source_repo, secret, sha=None):
    response = post_github(client, source_repo.payload(sha=sha), secret)
    assert response.status_code == 202, response.get_json()
    work(app)
    build_id = response.get_json()["builds"][0]["id"]
    return client.get(f"/api/v1/builds/{build_id}").get_json()


def _check(build, name, test=None):
    return next(c for c in build["checks"] if c["name"] == name and c.get("test") == test)


def _nothing_staged(registry_prefix):
    return registry_get(f"{registry_prefix}/staging/acme/web/tags/list").status_code == 404


def test_a_size_limit_rejects_the_build_and_a_tests_file_cannot_switch_it_off(
        make_app, source_repo, secret, registry_prefix):
    source_repo.commit({".lockmaster/tests.yml": "checks:\n  size: {enabled: false}\ntests: []\n"},
                       "Try to switch the size gate off")
    app = make_app([repo_entry(source_repo, checks={"size": {"max_mb": 0.1}})])
    client = app.test_client()
    build = _built(app, client, source_repo, secret)
    assert build["status"] == "rejected"
    assert build["failed_stage"] == "checks"
    assert build["error"].startswith("rejected by the gates: size: ")
    assert build["image"] is None and _nothing_staged(registry_prefix)
    assert [h["status"] for h in build["history"]][-2:] == ["checking", "rejected"]
    assert [c["name"] for c in build["checks"]] == GATES
    size = _check(build, "size")
    assert size["status"] == "fail" and "over the 0.1 MB limit (max_mb)" in size["summary"]
    reported = _check(build, "tests")
    assert reported["status"] == "warn"
    assert "tried to change server gates with 'checks' (line 1); ignored" in reported["summary"]
    log = client.get(f"/api/v1/builds/{build['id']}/log").text
    assert "check size: fail" in log and "REJECTED: rejected by the gates" in log
    assert "$ docker push" not in log


def test_growth_over_the_limit_has_the_configured_outcome(make_app, source_repo, secret,
                                                          registry_prefix):
    app = make_app([repo_entry(source_repo)],
                   checks={"size": {"max_growth_percent": 10, "on_growth": "fail"}})
    client = app.test_client()
    first = _built(app, client, source_repo, secret)
    assert first["status"] == "staged", first["error"]
    assert {c["status"] for c in first["checks"]} <= {"pass", "warn"}
    sbom = client.get(f"/api/v1/builds/{first['id']}/sbom")
    assert sbom.status_code == 200 and sbom.mimetype == "application/vnd.cyclonedx+json"
    assert sbom.get_json()["bomFormat"] == "CycloneDX"

    dockerfile = (source_repo.path / "Dockerfile").read_text()
    sha = source_repo.commit({"Dockerfile": dockerfile + "COPY big.txt /app/big.txt\n",
                              "big.txt": base64.b64encode(os.urandom(400_000)).decode()},
                             "Add a big file")
    second = _built(app, client, source_repo, secret, sha=sha)
    assert second["status"] == "rejected"
    size = _check(second, "size")
    assert size["status"] == "fail"
    assert f"since build {first['id']} (limit 10%)" in size["summary"]
    # The step as the image's history names it (legacy: `COPY file:<digest> in …`).
    assert "grew most: COPY " in size["summary"] and "/app/big.txt" in size["summary"]
    tags = registry_get(f"{registry_prefix}/staging/acme/web/tags/list").json()["tags"]
    assert sha[:12] not in tags


def test_a_failing_command_test_rejects_the_build_with_its_output(make_app, source_repo,
                                                                  secret, registry_prefix):
    tests = {"tests": [{"name": "app answers", "command": "echo checking-the-app; exit 3"},
                       {"name": "layout", "structure": {"exists": ["/app/app.txt"],
                                                        "contents": {"/app/app.txt": "^version"}}}]}
    source_repo.commit({".lockmaster/tests.yml": yaml.safe_dump(tests)}, "Add a test")
    app = make_app([repo_entry(source_repo)])
    client = app.test_client()
    build = _built(app, client, source_repo, secret)
    assert build["status"] == "rejected"
    assert "tests[app answers]: command test 'app answers': exit code 3, expected 0" in \
        build["error"]
    assert _check(build, "tests", "layout")["status"] == "pass"  # read from the engine's layers
    check = _check(build, "tests", "app answers")
    assert check["details"]["output"] == "checking-the-app\n"
    assert "    | checking-the-app" in client.get(f"/api/v1/builds/{build['id']}/log").text
    assert _nothing_staged(registry_prefix)


def test_a_secret_in_env_rejects_the_build_and_is_masked_everywhere(app, client, source_repo,
                                                                    secret, registry_prefix):
    dockerfile = (source_repo.path / "Dockerfile").read_text()
    source_repo.commit({"Dockerfile": dockerfile + f"ENV AWS_ACCESS_KEY_ID={AWS_KEY_ID}\n"
                                      'RUN echo "the key: $AWS_ACCESS_KEY_ID"\n'},
                       "Oops, a key")
    build = _built(app, client, source_repo, secret)
    assert build["status"] == "rejected"
    secrets = _check(build, "secrets")
    assert secrets["status"] == "fail" and "ENV AWS_ACCESS_KEY_ID" in secrets["summary"]
    log = client.get(f"/api/v1/builds/{build['id']}/log").text
    assert "the key: AKIA***[masked, 20 chars]" in log
    runtime = app.extensions["lockmaster"]
    shown = [client.get(f"/api/v1/builds/{build['id']}").text, log,
             client.get(f"/api/v1/builds/{build['id']}/sbom").text,
             "\n".join(live_lines(runtime.redis, build["id"]))]
    assert all(AWS_KEY_ID not in text for text in shown)
    assert _nothing_staged(registry_prefix)


def test_the_sbom_of_an_unknown_build_is_404(client):
    missing = client.get("/api/v1/builds/nope/sbom")
    assert missing.status_code == 404 and missing.get_json()["error"] == "no build with id 'nope'"
