"""A push becomes a staged image: real git, dockerd, registry and an RQ worker."""

import json
import re
import uuid

from tests.support.stack import post_github, registry_get, repo_entry, work

DOCKER_V2 = "application/vnd.docker.distribution.manifest.v2+json"


def _build(client, response):
    assert response.status_code == 202, response.get_json()
    build_id = response.get_json()["builds"][0]["id"]
    return client.get(f"/api/v1/builds/{build_id}").get_json()


def test_a_push_is_built_and_the_registry_serves_the_recorded_digest(app, client, source_repo,
                                                                     secret, registry_prefix):
    response = post_github(client, source_repo.payload(), secret)
    work(app)
    build = _build(client, response)
    assert build["status"] == "staged", build["error"]
    image = build["image"]
    name = f"{registry_prefix}/staging/acme/web"
    assert image["repository"] == f"127.0.0.1:5000/{name}"
    assert image["tags"] == [source_repo.head[:12], "main"]
    assert image["size"] > 0
    assert [h["status"] for h in build["history"]] == [
        "queued", "cloning", "building", "checking", "pushing", "staged"]
    assert build["finished_at"] and build["started_at"]

    served = registry_get(f"{name}/manifests/{image['digest']}", accept=DOCKER_V2)
    assert served.status_code == 200
    assert served.headers["Docker-Content-Digest"] == image["digest"]
    for tag in image["tags"]:
        by_tag = registry_get(f"{name}/manifests/{tag}", accept=DOCKER_V2)
        assert by_tag.headers["Docker-Content-Digest"] == image["digest"]

    config_digest = served.json()["config"]["digest"]
    labels = registry_get(f"{name}/blobs/{config_digest}").json()["config"]["Labels"]
    assert labels["org.opencontainers.image.revision"] == source_repo.head
    assert labels["io.lockmaster.build-id"] == build["id"]
    assert labels["org.opencontainers.image.source"]
    assert labels["org.opencontainers.image.created"].endswith("Z")

    log = client.get(f"/api/v1/builds/{build['id']}/log")
    assert log.mimetype == "text/plain"
    assert re.search(r"(Step 1/|\[1/\d+\] FROM)", log.text) and image["digest"] in log.text


def test_a_feature_branch_gets_a_valid_tag(make_app, source_repo, secret):
    app = make_app([repo_entry(source_repo, branches=["main", "feature/*"])])
    client = app.test_client()
    sha = source_repo.commit({"app.txt": "feature\n"}, "Feature work")
    response = post_github(client, source_repo.payload(ref="refs/heads/feature/x", sha=sha),
                           secret)
    work(app)
    build = _build(client, response)
    assert build["status"] == "staged", build["error"]
    assert build["image"]["tags"] == [sha[:12], "feature-x"]


def test_a_commit_that_does_not_exist_fails_with_a_clear_reason(app, client, source_repo,
                                                                secret):
    payload = source_repo.payload()
    missing = uuid.uuid4().hex + "00000000"
    payload["after"] = missing
    response = post_github(client, payload, secret)
    work(app)
    build = _build(client, response)
    assert build["status"] == "failed"
    assert build["failed_stage"] == "clone"
    assert build["error"] == f"commit {missing[:12]} not found in {source_repo.path}"
    assert build["image"] is None


def test_a_failing_dockerfile_step_fails_the_build_and_the_log_shows_it(app, client,
                                                                        source_repo, secret):
    dockerfile = (source_repo.path / "Dockerfile").read_text()
    source_repo.commit({"Dockerfile": dockerfile + "RUN echo about-to-fail && exit 3\n"},
                       "Break the build")
    response = post_github(client, source_repo.payload(), secret)
    work(app)
    build = _build(client, response)
    assert build["status"] == "failed"
    assert build["failed_stage"] == "build"
    assert "RUN echo about-to-fail && exit 3" in build["error"]
    assert "returned a non-zero code: 3" in build["error"]
    # The step is named as the build's progress numbers it (BuildKit's `[stage n/m] RUN …`).
    assert re.search(r"docker build failed at \[\d+/\d+\] RUN echo about-to-fail",
                     build["error"]), build["error"]
    log = client.get(f"/api/v1/builds/{build['id']}/log").text
    assert "about-to-fail" in log and "FAILED at build" in log
    assert registry_get("_catalog").status_code == 200


def test_a_missing_dockerfile_is_named(make_app, source_repo, secret):
    app = make_app([repo_entry(source_repo, dockerfile="docker/app/Dockerfile")])
    client = app.test_client()
    response = post_github(client, source_repo.payload(), secret)
    work(app)
    build = _build(client, response)
    assert build["status"] == "failed"
    assert build["error"] == (f"Dockerfile not found at path 'docker/app/Dockerfile' in commit "
                              f"{source_repo.head[:12]}")


def test_a_dockerfile_in_a_subfolder_with_the_context_at_the_root(make_app, source_repo, secret,
                                                                   base_image):
    source_repo.commit({"docker/app/Dockerfile": f"FROM {base_image}\nCOPY app.txt /srv/\n"},
                       "Move the Dockerfile")
    app = make_app([repo_entry(source_repo, dockerfile="docker/app/Dockerfile", context=".")])
    client = app.test_client()
    response = post_github(client, source_repo.payload(), secret)
    work(app)
    assert _build(client, response)["status"] == "staged"


def test_the_job_skips_a_build_that_already_ended(app, client, source_repo, secret):
    response = post_github(client, source_repo.payload(), secret)
    work(app)
    build = _build(client, response)
    from builder.dispatch import enqueue_build

    enqueue_build(app.extensions["lockmaster"], build["id"])
    work(app)
    again = client.get(f"/api/v1/builds/{build['id']}").get_json()
    assert again["history"] == build["history"]
    assert again["image"] == build["image"]


def test_the_workspace_is_removed_after_success_and_failure(app, client, source_repo, secret):
    post_github(client, source_repo.payload(), secret)
    payload = source_repo.payload()
    payload["after"] = "f" * 40
    post_github(client, payload, secret)
    work(app)
    workspaces = app.extensions["lockmaster"].settings.workspace_dir
    assert not workspaces.exists() or list(workspaces.iterdir()) == []


def test_the_build_list_filters_and_pages(app, client, source_repo, secret):
    ids = []
    for n in range(5):
        sha = source_repo.commit({"app.txt": f"v{n}\n"}, f"Commit {n}")
        response = post_github(client, source_repo.payload(sha=sha), secret)
        ids.append(response.get_json()["builds"][0]["id"])
    seen, cursor = [], None
    while True:
        page = client.get("/api/v1/builds", query_string={"limit": 2, **(
            {"cursor": cursor} if cursor else {})}).get_json()
        seen += [item["id"] for item in page["items"]]
        cursor = page["next"]
        if cursor is None:
            break
    assert seen == list(reversed(ids))
    # Each push to main supersedes the queued build of the one before.
    queued = client.get("/api/v1/builds?status=queued&repository=acme/web").get_json()
    assert [item["id"] for item in queued["items"]] == ids[-1:]
    superseded = client.get("/api/v1/builds?status=superseded").get_json()
    assert len(superseded["items"]) == 4
    assert client.get("/api/v1/builds?status=staged").get_json()["items"] == []
    assert client.get("/api/v1/builds?repository=acme/other").get_json()["items"] == []
    bad = client.get("/api/v1/builds?status=done")
    assert bad.status_code == 400 and "unknown status 'done'" in bad.get_json()["error"]
    assert client.get("/api/v1/builds?limit=0").status_code == 400
    assert client.get("/api/v1/builds?limit=abc").status_code == 400
    missing = client.get("/api/v1/builds/nope")
    assert missing.status_code == 404 and json.loads(missing.data)["error"]
