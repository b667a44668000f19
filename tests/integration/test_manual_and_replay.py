"""Builds by hand (API and CLI) and stored deliveries (list, replay): the webhook's path."""

import json

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from app import cli
from record.models import Build, Delivery
from tests.support.hosts import HOSTS, Commit
from tests.support.stack import post_github, repo_entry, wait_recorded, work


def _count(app, model) -> int:
    with app.extensions["lockmaster"].db.session() as session:
        return session.scalar(select(func.count()).select_from(model))


def test_a_build_by_ref_resolves_the_commit_and_dedupes_with_the_webhook(app, client,
                                                                         source_repo, secret):
    manual = client.post("/api/v1/builds", json={"repository": "acme/web", "ref": "main"})
    assert manual.status_code == 202, manual.get_json()
    build = client.get(manual.get_json()["builds"][0]["url"]).get_json()
    assert (build["ref"], build["commit"]["sha"]) == ("refs/heads/main", source_repo.head)
    hook = post_github(client, source_repo.payload(), secret)
    again = client.post("/api/v1/builds", json={"repository": "acme/web",
                                                "sha": source_repo.head})
    wait_recorded(app)
    ids = {r.get_json()["builds"][0]["id"] for r in (manual, hook, again)}
    assert len(ids) == 1 and _count(app, Build) == 1


def test_a_sha_that_is_not_the_refs_tip_is_refused_and_a_bare_sha_takes_no_branch_tag(
        app, client, source_repo):
    old = source_repo.head
    tip = source_repo.commit({"app.txt": "version 2\n"}, "Say version 2")
    moved = client.post("/api/v1/builds", json={"repository": "acme/web", "ref": "main",
                                                "sha": old})
    assert moved.status_code == 409
    assert old in moved.get_json()["error"] and tip in moved.get_json()["error"]
    assert _count(app, Build) == 0
    bare = client.post("/api/v1/builds", json={"repository": "acme/web", "sha": old})
    assert bare.status_code == 202, bare.get_json()
    work(app)
    build = client.get(bare.get_json()["builds"][0]["url"]).get_json()
    assert (build["status"], build["ref"], build["pusher"]) == ("staged", "", "api-tests")
    assert build["image"]["tags"] == [old[:12]]


def test_a_build_of_an_annotated_tag_builds_its_commit(make_app, source_repo, secret):
    app = make_app([repo_entry(source_repo, tags=["v*"])])
    source_repo.repo.create_tag("v3", message="Release 3")
    response = app.test_client().post("/api/v1/builds",
                                      json={"repository": "acme/web", "ref": "v3"})
    assert response.status_code == 202, response.get_json()
    build = app.test_client().get(response.get_json()["builds"][0]["url"]).get_json()
    assert (build["ref"], build["commit"]["sha"]) == ("refs/tags/v3", source_repo.head)


@pytest.mark.parametrize(("request_body", "status", "message"), [
    ({"repository": "acme/nope", "ref": "main"}, 404, "not configured"),
    ({"repository": "acme/web"}, 400, "give 'ref'"),
    ({"repository": "acme/web", "ref": "no-such-branch"}, 400, "does not exist"),
    ({"repository": "acme/web", "ref": "--upload-pack=x"}, 400, "not a valid Git ref"),
    ({"repository": "acme/web", "ref": "refs/heads/../../x"}, 400, "not a valid Git ref"),
    ({"repository": "acme/web", "sha": "abc"}, 400, "full 40-hex"),
])
def test_bad_manual_requests_say_what_is_wrong_and_build_nothing(app, client, request_body,
                                                                status, message):
    response = client.post("/api/v1/builds", json=request_body)
    assert response.status_code == status
    assert message in response.get_json()["error"]
    assert _count(app, Build) == 0


def test_a_non_json_manual_request_is_400(app, client):
    response = client.post("/api/v1/builds", data="repository=acme/web")
    assert response.status_code == 400 and "JSON" in response.get_json()["error"]


@pytest.fixture
def cli_env(app, monkeypatch):
    settings = app.extensions["lockmaster"].settings
    monkeypatch.setenv("LOCKMASTER_CONFIG", str(settings.config_path))
    monkeypatch.setenv("LOCKMASTER_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("LOCKMASTER_REDIS_URL", settings.redis_url)
    monkeypatch.setenv("LOCKMASTER_DATABASE_URL", settings.database_url)
    return CliRunner()


def test_lockmaster_build_queues_through_the_same_path(app, client, source_repo, secret,
                                                       cli_env):
    nobody = cli_env.invoke(cli, ["build", "acme/web", "main", "--user", "nobody"])
    assert nobody.exit_code != 0 and "no Lockmaster user named 'nobody'" in nobody.output
    result = cli_env.invoke(cli, ["build", "acme/web", "main", "--user", "api-tests"])
    assert result.exit_code == 0, result.output
    (summary,) = json.loads(result.output)["builds"]
    hook = post_github(client, source_repo.payload(), secret)
    assert hook.get_json()["builds"][0]["id"] == summary["id"]
    assert client.get(summary["url"]).get_json()["pusher"] == "api-tests"
    bad = cli_env.invoke(cli, ["build", "acme/web", "nope", "--user", "api-tests"])
    assert bad.exit_code == 1 and "does not exist" in bad.output


def test_deliveries_are_listed_and_an_ignored_one_replays_after_the_config_changes(
        make_app, source_repo, secret, monkeypatch):
    app = make_app([repo_entry(source_repo, provider="gitlab")])
    host = HOSTS["gitlab"]
    payload = host.push("acme/web", "refs/heads/dev", Commit(source_repo.head),
                        str(source_repo.path))
    ignored = host.post(app.test_client(), "Push Hook", payload, secret)
    assert ignored.status_code == 200
    rejected = host.post(app.test_client(), "Push Hook", payload, "wrong")
    assert rejected.status_code == 401

    app = make_app([repo_entry(source_repo, provider="gitlab", branches=["main", "dev"])])
    settings = app.extensions["lockmaster"].settings
    for name, value in [("LOCKMASTER_CONFIG", settings.config_path),
                        ("LOCKMASTER_DATA_DIR", settings.data_dir),
                        ("LOCKMASTER_REDIS_URL", settings.redis_url),
                        ("LOCKMASTER_DATABASE_URL", settings.database_url)]:
        monkeypatch.setenv(name, str(value))
    runner = CliRunner()
    listing = runner.invoke(cli, ["deliveries", "list", "--json"])
    rows = [json.loads(line) for line in listing.output.splitlines()]
    assert [(r["outcome"], r["status"]) for r in rows] == [("rejected", 401), ("ignored", 200)]
    assert "X-Gitlab-Token" not in json.dumps(_stored_headers(app))

    replayed = runner.invoke(cli, ["deliveries", "replay", str(rows[1]["id"])])
    assert replayed.exit_code == 0, replayed.output
    (summary,) = json.loads(replayed.output)["builds"]
    again = runner.invoke(cli, ["deliveries", "replay", str(rows[1]["id"])])
    assert json.loads(again.output)["builds"][0]["id"] == summary["id"]
    assert _count(app, Build) == 1

    refused = runner.invoke(cli, ["deliveries", "replay", str(rows[0]["id"])])
    assert refused.exit_code == 1 and "was rejected" in refused.output
    missing = runner.invoke(cli, ["deliveries", "replay", "999"])
    assert missing.exit_code == 1 and "no delivery 999" in missing.output
    shown = json.loads(runner.invoke(cli, ["deliveries", "show", str(rows[1]["id"])]).output)
    assert json.loads(shown["body"]) == payload
    assert shown["headers"]["X-Gitlab-Event"] == "Push Hook"
    table = runner.invoke(cli, ["deliveries", "list"])
    assert f"builds={summary['id'][:8]}" in table.output


def _stored_headers(app) -> list[dict]:
    with app.extensions["lockmaster"].db.session() as session:
        return list(session.scalars(select(Delivery.headers)))
