"""The history and lineage API: filters, cursor, lineage of a promoted digest, tokens, CLI."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from app import cli
from auth.tokens import create_token, revoke_token
from builder.checks.base import CheckResult, CheckStatus
from builder.checks.record import store_results
from ops import metrics
from promotion.decisions import decide
from tests.support.history import seed
from tests.support.promotionkit import add_people, stage
from tests.support.stack import app_environ, repo_entry, work

PROBLEM = "application/problem+json"


@pytest.fixture
def history_app(make_app, source_repo):
    return make_app([repo_entry(source_repo)])


def test_pagination_never_repeats_or_skips_while_builds_arrive(history_app):
    client = history_app.test_client()
    before = seed(history_app, 23)
    seen, cursor, arrived = [], None, []
    while True:
        query = {"limit": 5, **({"next": cursor} if cursor else {})}
        page = client.get("/api/v1/builds", query_string=query).get_json()
        seen += [item["id"] for item in page["items"]]
        arrived += seed(history_app, 2)  # new builds land between pages
        cursor = page["next"]
        if cursor is None:
            break
    assert seen == sorted(before, reverse=True)
    newest = client.get("/api/v1/builds?limit=2").get_json()["items"]
    assert [b["id"] for b in newest] == sorted(arrived, reverse=True)[:2]


def test_filters_combine_and_nonsense_is_a_400_with_the_reason(history_app):
    client = history_app.test_client()
    seed(history_app, 6, pusher=lambda n: "alice" if n % 2 else "bob",
         status=lambda n: "failed" if n % 3 == 0 else "staged",
         ref=lambda n: "refs/heads/main" if n < 4 else "refs/tags/v1")
    seed(history_app, 2, repository="acme/api", pusher="alice")

    def ids(**query):
        return [b["commit"]["sha"][:7] for b in
                client.get("/api/v1/builds", query_string=query).get_json()["items"]]

    assert ids(pusher="alice", repository="acme/web") == ["0000005", "0000003", "0000001"]
    assert ids(pusher="alice", status="failed") == ["0000003"]
    assert ids(ref="main", status="staged", repository="acme/web") == ["0000002", "0000001"]
    assert ids(ref="refs/tags/v1", pusher="alice") == ["0000005"]
    assert ids(sha="0000004") == ["0000004"]
    assert ids(since="2000-01-01T00:00:00Z", until="2999-01-01T00:00:00Z",
               repository="acme/api") == ["0000001", "0000000"]
    assert ids(until="2000-01-01T00:00:00Z") == []
    for query, reason in (({"sha": "abc"}, "7 to 64 hex"), ({"status": "great"}, "unknown status"),
                          ({"limit": "500"}, "from 1 to 200"), ({"since": "yesterday"}, "ISO"),
                          ({"since": "2026-02-01", "until": "2026-01-01"}, "after until"),
                          ({"next": "../../etc"}, "cursor"), ({"colour": "red"}, "unknown"),
                          ({"pusher": "a\x00b"}, "NUL")):
        response = client.get("/api/v1/builds", query_string=query)
        assert response.status_code == 400 and response.mimetype == PROBLEM, query
        problem = response.get_json()
        assert problem["status"] == 400 and reason in problem["detail"], (query, problem)
    assert len(client.get("/api/v1/builds").get_json()["items"]) == 8


def test_a_token_without_the_scope_gets_403_revoked_or_none_401(history_app):
    db = history_app.extensions["lockmaster"].db
    build_id = seed(history_app, 1)[0]
    reader = create_token(db, "reader", "read", "api-tests")
    client = history_app.test_client()

    def as_(token):
        return {"Authorization": f"Bearer {token}" if token else ""}

    assert client.get("/api/v1/builds", headers=as_(reader)).status_code == 200
    refused = client.post(f"/api/v1/builds/{build_id}/retry", headers=as_(reader))
    assert refused.status_code == 403 and "scope 'read'" in refused.get_json()["detail"]
    assert client.get("/api/v1/builds", headers=as_(None)).status_code == 401
    assert client.get("/api/v1/audit", headers=as_("lm_forged")).status_code == 401
    revoke_token(db, "reader")
    gone = client.get(f"/api/v1/builds/{build_id}", headers=as_(reader))
    assert gone.status_code == 401 and gone.mimetype == PROBLEM
    assert client.get("/api/v1/openapi.json", headers=as_(None)).status_code == 200
    assert len(client.get("/api/v1/builds").get_json()["items"]) == 1


def test_lineage_of_a_promoted_digest_in_one_call_and_in_the_cli(make_app, source_repo):
    app = make_app([repo_entry(source_repo)])
    add_people(app)
    runtime = app.extensions["lockmaster"]
    build = stage(app, source_repo)
    store_results(runtime.db, build.id, [CheckResult("lint", CheckStatus.PASS, "clean"),
                                         CheckResult("size", CheckStatus.WARN, "big")], None)
    promoted = _promoted_count()
    timed = _histogram_count("promotion")
    assert decide(runtime, build.id, "carol", "approve", build.digest, "ship it").status \
        == "approved"
    work(app)
    assert _promoted_count() == promoted + 1
    assert _histogram_count("promotion") == timed + 1

    client = app.test_client()
    found = client.get(f"/api/v1/images/{build.digest}").get_json()
    assert found["build"]["id"] == build.id and found["commit"]["sha"] == source_repo.head
    assert found["dockerfile"] == "Dockerfile" and found["commit"]["pusher"] == "bob"
    assert [g["name"] for g in found["gates"]] == ["lint", "size"]
    assert [(a["by"], a["decision"]) for a in found["approvals"]] == [("carol", "approve")]
    assert [(p["to"], p["status"], p["replaced_digest"]) for p in found["promotions"]] == \
        [("production", "promoted", None)]
    assert {(e["environment"], e["current"]) for e in found["environments"]} == \
        {("staging", True), ("production", True)}
    assert client.get("/api/v1/images/sha256:" + "0" * 64).status_code == 404
    assert client.get("/api/v1/images/latest").status_code == 400
    commit = client.get(f"/api/v1/commits/{source_repo.head[:7]}").get_json()
    assert [b["id"] for b in commit["builds"]] == [build.id]
    repo = client.get("/api/v1/repositories/acme/web").get_json()
    assert [(e["environment"], e["digest"]) for e in repo["environments"]] == \
        [("staging", build.digest), ("production", build.digest)]
    assert client.get("/api/v1/repositories").get_json()["items"][0]["name"] == "acme/web"
    audit = client.get("/api/v1/audit", query_string={"actor": "carol",
                                                      "action": "approve"}).get_json()
    assert [e["target"] for e in audit["items"]] == [f"build {build.id}"]

    runner = CliRunner(env=app_environ(app))
    table = runner.invoke(cli, ["lineage", build.digest])
    assert table.exit_code == 0, table.output
    assert "carol" in table.output and "production" in table.output and "lint" in table.output
    as_json = json.loads(runner.invoke(cli, ["lineage", build.digest, "--json"]).output)
    assert as_json == found
    listed = runner.invoke(cli, ["history", "--repository", "acme/web", "--json"])
    assert [(b["id"], b["number"]) for b in json.loads(listed.output)] == [(build.id, 1)]
    staged = runner.invoke(cli, ["history", "--status", "staged"]).output
    assert build.id in staged and "#1" in staged
    assert "acme/web #1" in table.output
    bad = runner.invoke(cli, ["history", "--status", "great"])
    assert bad.exit_code != 0 and "unknown status" in bad.output


def _promoted_count() -> float:
    """lockmaster_promotions_total for production/promoted, as /metrics would show it."""
    for family in metrics.promotions.collect():
        for sample in family.samples:
            if sample.name.endswith("_total") and sample.labels == {
                    "environment": "production", "outcome": "promoted"}:
                return sample.value
    return 0.0


def _histogram_count(stage: str) -> float:
    for family in metrics.stage_seconds.collect():
        for sample in family.samples:
            if sample.name.endswith("_count") and sample.labels.get("stage") == stage:
                return sample.value
    return 0.0
