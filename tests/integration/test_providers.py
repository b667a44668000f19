"""Every Git host's deliveries: what the host sees back, and what is (not) recorded or queued."""

import json

import pytest
from rq import Queue
from sqlalchemy import func, select
from sqlalchemy.orm import undefer

from record.models import Build, Delivery
from tests.support.hosts import HOSTS, Bitbucket, Commit, Gitea
from tests.support.stack import repo_entry

PROVIDERS = list(HOSTS)


def count(app, model) -> int:
    with app.extensions["lockmaster"].db.session() as session:
        return session.scalar(select(func.count()).select_from(model))


def queued_jobs(app) -> int:
    return len(Queue("builds", connection=app.extensions["lockmaster"].redis))


def deliveries(app) -> list[Delivery]:
    with app.extensions["lockmaster"].db.session() as session:
        return list(session.scalars(select(Delivery).options(undefer(Delivery.body))))


@pytest.fixture(params=PROVIDERS)
def host(request):
    return HOSTS[request.param]


@pytest.fixture
def hosted(make_app, source_repo, host):
    """An app with acme/web configured for the host under test (branches main, release/*)."""
    return make_app([repo_entry(source_repo, provider=host.name,
                                branches=["main", "release/*"], tags=["v*"])])


def push(host, source_repo, ref="refs/heads/main", sha=None, name="acme/web"):
    return host.push(name, ref, Commit(sha or source_repo.head), str(source_repo.path))


def test_a_signed_branch_push_queues_one_build(hosted, host, source_repo, secret):
    client = hosted.test_client()
    response = host.post(client, host.push_event, push(host, source_repo), secret)
    assert response.status_code == 202, response.get_json()
    (summary,) = response.get_json()["builds"]
    build = client.get(summary["url"]).get_json()
    assert (build["repository"], build["ref"], build["refs"]) == (
        "acme/web", "refs/heads/main", ["refs/heads/main"])
    assert build["commit"]["sha"] == source_repo.head
    assert build["commit"]["message"] == "Initial version"
    assert build["commit"]["author"] == "Alice Author"
    assert build["pusher"] == "bob" and build["pusher_accounts"] == list(host.pusher_accounts)
    assert build["status"] == "queued" and queued_jobs(hosted) == 1
    (delivery,) = deliveries(hosted)
    assert delivery.provider == host.name and delivery.outcome == "accepted"
    assert delivery.body == json.dumps(push(host, source_repo)).encode()


def test_a_tag_push_builds_the_tag(hosted, host, source_repo, secret):
    response = host.post(hosted.test_client(), host.tag_event,
                         push(host, source_repo, ref="refs/tags/v1.0"), secret)
    assert response.status_code == 202, response.get_json()
    url = response.get_json()["builds"][0]["url"]
    assert hosted.test_client().get(url).get_json()["ref"] == "refs/tags/v1.0"


def test_a_branch_deletion_is_recorded_and_builds_nothing(hosted, host, secret):
    response = host.post(hosted.test_client(), host.deletion_event,
                         host.deletion("acme/web", "refs/heads/main"), secret)
    assert response.status_code == 200, response.get_json()
    assert "deleted" in response.get_json()["ignored"]
    assert [d.outcome for d in deliveries(hosted)] == ["ignored"]
    assert count(hosted, Build) == 0 and queued_jobs(hosted) == 0


@pytest.mark.parametrize("kind", ["ping", "unrelated"])
def test_ping_and_unrelated_events_answer_200_with_the_reason(hosted, host, secret, kind):
    event = getattr(host, f"{kind}_event")
    response = host.post(hosted.test_client(), event, getattr(host, kind)("acme/web"), secret)
    assert response.status_code == 200
    assert response.get_json()["ignored"]
    assert count(hosted, Build) == 0 and queued_jobs(hosted) == 0


@pytest.mark.parametrize("variant", ["wrong secret", "missing", "wrong prefix", "truncated"])
def test_bad_authentication_is_401_and_only_the_rejection_is_kept(hosted, host, source_repo,
                                                                  secret, variant):
    payload = push(host, source_repo)
    body = json.dumps(payload).encode()
    headers = host.bad_auth(body, secret)[variant]
    response = host.post(hosted.test_client(), host.push_event, None, None, body=body,
                         headers=headers)
    assert response.status_code == 401
    assert "secret" in response.get_json()["error"]
    (delivery,) = deliveries(hosted)
    assert (delivery.outcome, delivery.body, delivery.dedupe_key) == ("rejected", None, None)
    assert count(hosted, Build) == 0 and queued_jobs(hosted) == 0


def test_malformed_json_with_a_valid_signature_is_400(hosted, host, secret):
    response = host.post(hosted.test_client(), host.push_event, None, secret,
                         body=b'{"ref": "refs/heads/main",')
    assert response.status_code == 400
    assert "not valid JSON" in response.get_json()["error"]
    assert count(hosted, Build) == 0 and queued_jobs(hosted) == 0


def test_the_same_delivery_twice_makes_one_build(hosted, host, source_repo, secret):
    client = hosted.test_client()
    first = host.post(client, host.push_event, push(host, source_repo), secret, delivery="d-1")
    again = host.post(client, host.push_event, push(host, source_repo), secret, delivery="d-1")
    assert (first.status_code, again.status_code) == (202, 202)
    assert again.get_json() == first.get_json()
    assert count(hosted, Build) == 1 and queued_jobs(hosted) == 1


def test_the_same_commit_via_two_refs_is_one_build_with_both_refs(hosted, host, source_repo,
                                                                  secret):
    client = hosted.test_client()
    main = host.post(client, host.push_event, push(host, source_repo), secret)
    release = host.post(client, host.push_event,
                        push(host, source_repo, ref="refs/heads/release/1"), secret)
    assert (main.status_code, release.status_code) == (202, 202)
    assert main.get_json()["builds"][0]["id"] == release.get_json()["builds"][0]["id"]
    build = client.get(main.get_json()["builds"][0]["url"]).get_json()
    assert build["ref"] == "refs/heads/main"
    assert build["refs"] == ["refs/heads/main", "refs/heads/release/1"]
    assert count(hosted, Build) == 1 and queued_jobs(hosted) == 1


@pytest.mark.parametrize("ref", ["refs/heads/../../x", "--upload-pack=x", "refs/heads/a;rm -rf"])
def test_hostile_refs_are_rejected_before_git(hosted, host, source_repo, secret, ref):
    payload = push(host, source_repo, ref=ref)
    response = host.post(hosted.test_client(), host.push_event, payload, secret)
    assert response.status_code == 400
    assert "not a valid Git ref" in response.get_json()["error"]
    assert count(hosted, Build) == 0 and queued_jobs(hosted) == 0
    assert [d.outcome for d in deliveries(hosted)] == ["malformed"]


@pytest.mark.parametrize("url", ["ext::sh -c touch% /tmp/pwned", "https://evil.example.net/x.git"])
def test_a_payload_clone_url_that_is_not_allowed_is_refused(make_app, host, source_repo,
                                                            secret, url):
    app = make_app([repo_entry(source_repo, provider=host.name, clone_url=None)],
                   webhooks={"clone_hosts": ["git.example.com"]})
    payload = host.push("acme/web", "refs/heads/main", Commit(source_repo.head), url)
    response = host.post(app.test_client(), host.push_event, payload, secret)
    assert response.status_code == 400
    assert "not allowed" in response.get_json()["error"]
    assert count(app, Build) == 0 and queued_jobs(app) == 0


def test_a_payload_clone_url_on_an_allowed_host_is_used(make_app, host, source_repo, secret):
    app = make_app([repo_entry(source_repo, provider=host.name, clone_url=None)],
                   webhooks={"clone_hosts": ["git.example.com"]})
    payload = host.push("acme/web", "refs/heads/main", Commit(source_repo.head),
                        "https://git.example.com/acme/web.git")
    response = host.post(app.test_client(), host.push_event, payload, secret)
    assert response.status_code == 202
    with app.extensions["lockmaster"].db.session() as session:
        assert session.scalars(select(Build.clone_url)).one() == \
            "https://git.example.com/acme/web.git"


def test_skip_ci_is_recorded_and_not_built(hosted, host, source_repo, secret):
    payload = host.push("acme/web", "refs/heads/main",
                        Commit(source_repo.head, "Docs only [skip ci]"), str(source_repo.path))
    response = host.post(hosted.test_client(), host.push_event, payload, secret)
    assert response.status_code == 200 and "skip ci" in response.get_json()["ignored"]
    assert count(hosted, Build) == 0


def test_a_bitbucket_delivery_with_two_changed_refs_makes_two_builds(make_app, source_repo,
                                                                     secret):
    app = make_app([repo_entry(source_repo, provider="bitbucket",
                               branches=["main", "release/*"])])
    first = source_repo.head
    second = source_repo.commit({"app.txt": "version 2\n"}, "Second")
    host = Bitbucket()
    changes = [host.change("refs/heads/main", Commit(first)),
               host.change("refs/heads/release/2", Commit(second, "Second"))]
    payload = host.push("acme/web", "", None, str(source_repo.path), changes=changes)
    response = host.post(app.test_client(), host.push_event, payload, secret)
    assert response.status_code == 202
    builds = response.get_json()["builds"]
    assert len(builds) == 2 and queued_jobs(app) == 2
    documents = [app.test_client().get(b["url"]).get_json() for b in builds]
    assert [(d["ref"], d["commit"]["sha"]) for d in documents] == [
        ("refs/heads/main", first), ("refs/heads/release/2", second)]


@pytest.mark.parametrize("forgejo", [False, True])
def test_gitea_form_encoded_deliveries_are_refused_with_what_to_change(make_app, source_repo,
                                                                       secret, forgejo):
    app = make_app([repo_entry(source_repo, provider="gitea")])
    host = Gitea(forgejo=forgejo)
    body = b"payload=" + json.dumps(push(host, source_repo)).encode()
    response = host.post(app.test_client(), "push", None, secret, body=body,
                         headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert response.status_code == 400
    assert "application/json" in response.get_json()["error"]
    assert count(app, Build) == 0


def test_forgejo_headers_are_accepted(make_app, source_repo, secret):
    app = make_app([repo_entry(source_repo, provider="gitea")])
    host = Gitea(forgejo=True)
    response = host.post(app.test_client(), "push", push(host, source_repo), secret)
    assert response.status_code == 202


def test_a_gitlab_annotated_tag_builds_the_commit_not_the_tag_object(make_app, source_repo,
                                                                     secret):
    app = make_app([repo_entry(source_repo, provider="gitlab", tags=["v*"])])
    host = HOSTS["gitlab"]
    payload = host.push("acme/web", "refs/tags/v2", Commit(source_repo.head),
                        str(source_repo.path), tag_object="b" * 40)
    response = host.post(app.test_client(), "Tag Push Hook", payload, secret)
    url = response.get_json()["builds"][0]["url"]
    assert app.test_client().get(url).get_json()["commit"]["sha"] == source_repo.head


def test_redis_down_leaves_the_older_build_queued_not_superseded(make_app, source_repo, secret):
    app = make_app([repo_entry(source_repo)])
    host = HOSTS["github"]
    older = host.post(app.test_client(), "push", push(host, source_repo), secret)
    newer_sha = source_repo.commit({"app.txt": "version 2\n"}, "Second")
    down = make_app([repo_entry(source_repo)], redis="redis://127.0.0.1:1/0")
    response = host.post(down.test_client(), "push", push(host, source_repo, sha=newer_sha),
                         secret)
    assert response.status_code == 503
    build = app.test_client().get(older.get_json()["builds"][0]["url"]).get_json()
    assert build["status"] == "queued" and build["error"] is None
    assert [h["status"] for h in build["history"]] == ["queued"]
    assert count(app, Build) == 1


def test_a_force_push_builds_normally(hosted, host, source_repo, secret):
    payload = push(host, source_repo)
    if host.name == "github":
        payload["forced"] = True
    elif host.name == "bitbucket":
        payload["push"]["changes"][0]["forced"] = True
    response = host.post(hosted.test_client(), host.push_event, payload, secret)
    assert response.status_code == 202


def test_an_old_gitlab_delivery_without_ids_is_accepted_and_deduped_by_its_body(
        make_app, source_repo, secret):
    """Injects: GitLab deliveries with neither Idempotency-Key nor X-Gitlab-Event-UUID (older
    GitLab versions send neither), the same body twice, then another body."""
    app = make_app([repo_entry(source_repo, provider="gitlab")])
    host, client = HOSTS["gitlab"], app.test_client()
    payload = push(host, source_repo)
    no_ids = {"Idempotency-Key": "", "X-Gitlab-Event-UUID": ""}
    first, again = (host.post(client, "Push Hook", payload, secret, headers=no_ids)
                    for _ in range(2))
    assert first.status_code == again.status_code == 202, first.get_json()
    assert again.get_json() == first.get_json()
    other = host.post(client, "Push Hook", {**payload, "user_username": "carol"}, secret,
                      headers=no_ids)
    assert other.status_code == 202
    assert [d.outcome for d in deliveries(app)] == ["accepted", "accepted"]
    assert count(app, Build) == 1
