"""From each Git host's push to an image the registry serves: real git, dockerd, RQ, registry."""

import pytest

from tests.support.hosts import HOSTS, Commit
from tests.support.stack import registry_get, repo_entry, work

DOCKER_V2 = "application/vnd.docker.distribution.manifest.v2+json"


@pytest.mark.parametrize("provider", list(HOSTS))
def test_a_push_and_a_tag_of_one_commit_stage_one_image_with_both_tags(
        make_app, source_repo, secret, registry_prefix, provider):
    app = make_app([repo_entry(source_repo, provider=provider, tags=["v*"])])
    client, host = app.test_client(), HOSTS[provider]
    commit = Commit(source_repo.head)
    branch = host.post(client, host.push_event,
                       host.push("acme/web", "refs/heads/main", commit, str(source_repo.path)),
                       secret)
    tag = host.post(client, host.tag_event,
                    host.push("acme/web", "refs/tags/v1.0", commit, str(source_repo.path)),
                    secret)
    assert (branch.status_code, tag.status_code) == (202, 202)
    (build_id,) = {branch.get_json()["builds"][0]["id"], tag.get_json()["builds"][0]["id"]}
    work(app)
    build = client.get(f"/api/v1/builds/{build_id}").get_json()
    assert build["status"] == "staged", build["error"]
    assert build["image"]["tags"] == [source_repo.head[:12], "main", "v1.0"]
    name = f"{registry_prefix}/staging/acme/web"
    for reference in [build["image"]["digest"], *build["image"]["tags"]]:
        served = registry_get(f"{name}/manifests/{reference}", accept=DOCKER_V2)
        assert served.headers["Docker-Content-Digest"] == build["image"]["digest"]


def test_a_newer_push_supersedes_the_queued_build_which_is_never_built(app, client, source_repo,
                                                                       secret, registry_prefix):
    host = HOSTS["github"]
    first = source_repo.head
    second = source_repo.commit({"app.txt": "version 2\n"}, "Second")
    old = host.post(client, "push", source_repo.payload(sha=first), secret)
    new = host.post(client, "push", source_repo.payload(sha=second), secret)
    old_url, new_url = (r.get_json()["builds"][0]["url"] for r in (old, new))
    assert client.get(old_url).get_json()["status"] == "superseded"
    work(app)
    old_build, new_build = client.get(old_url).get_json(), client.get(new_url).get_json()
    assert [h["status"] for h in old_build["history"]] == ["queued", "superseded"]
    assert new_build["id"] in old_build["error"]
    assert new_build["status"] == "staged"
    served = registry_get(f"{registry_prefix}/staging/acme/web/manifests/main", accept=DOCKER_V2)
    assert served.headers["Docker-Content-Digest"] == new_build["image"]["digest"]


def test_a_ref_pushed_after_the_image_was_staged_tags_the_same_digest(make_app, source_repo,
                                                                      secret, registry_prefix):
    app = make_app([repo_entry(source_repo, branches=["main", "release/*"])])
    client, host = app.test_client(), HOSTS["github"]
    first = host.post(client, "push", source_repo.payload(), secret)
    work(app)
    staged = client.get(first.get_json()["builds"][0]["url"]).get_json()
    assert staged["status"] == "staged", staged["error"]
    later = host.post(client, "push", source_repo.payload(ref="refs/heads/release/9"), secret)
    assert later.status_code == 202
    assert later.get_json()["builds"][0]["id"] == staged["id"]
    work(app)
    build = client.get(first.get_json()["builds"][0]["url"]).get_json()
    assert build["refs"] == ["refs/heads/main", "refs/heads/release/9"]
    assert build["image"]["tags"] == [source_repo.head[:12], "main", "release-9"]
    served = registry_get(f"{registry_prefix}/staging/acme/web/manifests/release-9",
                          accept=DOCKER_V2)
    assert served.headers["Docker-Content-Digest"] == build["image"]["digest"]
