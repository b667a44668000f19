"""The web UI in Debian's Chromium against the real stack: live logs, build control, build
numbers, the builds list, repository and lineage pages, people, accessibility."""

import os
import uuid

import pytest
from playwright.sync_api import expect

from auth.tokens import create_token
from auth.users import add_user, link
from record.audit import AuditEvent
from record.models import Build, utcnow
from tests.support.browserkit import (
    NARROW,
    ROOT,
    log_in,
    scrolls_sideways,
    serious_violations,
    served,
)
from tests.support.buildhelpers import build_of, push, start_worker, stop_worker
from tests.support.promotionkit import PASSWORD, add_people
from tests.support.stack import post_github, registry_get, repo_entry, work

ACCEPT = "application/vnd.docker.distribution.manifest.v2+json"
SHOTS = os.environ.get("LOCKMASTER_UPDATE_SCREENSHOT")


@pytest.fixture
def ui(make_app, source_repo):
    """The app with people (dan develops acme/*) served on a free port."""
    app = make_app([repo_entry(source_repo)])
    add_people(app)
    add_user(app.extensions["lockmaster"].db, "dan", "developer", ["acme/*"], PASSWORD)
    with served(app) as base:
        yield app, base


def _slow_commit(source_repo, base_image: str, seconds: int) -> str:
    marker = f"started-{uuid.uuid4().hex}"
    source_repo.commit({"Dockerfile": f"FROM {base_image}\nCOPY app.txt /app.txt\n"
                                      f"RUN echo {marker} && sleep {seconds} && echo done\n"},
                       "A slow build")
    return marker


@pytest.mark.once  # the browser and the worker; numbers on PostgreSQL: test_build_numbers.py
def test_a_developer_follows_cancels_retries_and_builds_now_and_a_viewer_cannot(
        ui, browser, source_repo, base_image, secret, tmp_path):
    app, base = ui
    client = app.test_client()
    marker = _slow_commit(source_repo, base_image, 60)
    first = push(client, source_repo, secret)
    dev = log_in(browser, base, "dan")
    dev.goto(f"{base}/builds/{first}")
    expect(dev.locator("h1")).to_contain_text("acme/web #1")
    expect(dev.locator("#build-status")).to_have_text("queued")

    worker = start_worker(app, tmp_path / "worker.log", "--burst")
    try:
        # The status and the log follow the build on the open page, without a reload.
        expect(dev.locator("#build-status")).to_have_text("building", timeout=60_000)
        expect(dev.locator("#log")).to_contain_text(marker, timeout=60_000)
        assert build_of(client, first)["status"] == "building"
        if SHOTS:
            dev.screenshot(path=str(ROOT / "docs" / "build-live.png"), full_page=True)
        assert serious_violations(dev) == []  # the page of a running build, log included
        line = dev.locator("#log li", has_text=marker).first
        anchor = line.get_attribute("id")
        assert line.locator("a").get_attribute("href") == f"#{anchor}"

        viewer = log_in(browser, base, "vic")
        viewer.goto(f"{base}/builds/{first}")
        expect(viewer.locator("#log")).to_contain_text(marker)
        assert viewer.locator("#cancel-form, #retry-form").count() == 0
        token = viewer.locator("input[name=csrf_token]").first.input_value()
        forged = viewer.request.post(f"{base}/builds/{first}/cancel",
                                     form={"csrf_token": token})
        assert forged.status == 403
        assert build_of(client, first)["status"] == "building"

        dev.click("#cancel-form button")
        expect(dev.locator("#build-status")).to_have_text("cancelled", timeout=60_000)
        worker.wait(timeout=60)
    finally:
        stop_worker(worker)
    assert build_of(client, first)["cancelled_by"] == "dan"
    expect(dev.locator("#log li.failed-step").last).to_contain_text("STOPPED during build")
    expect(dev.locator("#cancel-form")).to_be_hidden()
    expect(dev.locator("#log-state")).to_contain_text("The build ended: cancelled.")

    dev.click("#retry-form button")
    expect(dev.locator(".flash")).to_contain_text(f"Retry of build {first} queued")
    expect(dev.locator("h1")).to_contain_text("acme/web #2")
    retried = dev.url.rsplit("/", 1)[1]
    assert build_of(client, retried)["retry_of"] == first
    assert build_of(client, retried)["number"] == 2
    dev.goto(f"{base}/repositories/acme/web/builds/1")
    assert dev.url == f"{base}/builds/{first}"
    assert dev.goto(f"{base}/repositories/acme/web/builds/99").status == 404
    assert dev.goto(f"{base}/repositories/acme/web/builds/{2**40}").status == 404

    dev.goto(f"{base}/repositories/acme/web")
    dev.fill("input[name=ref]", "no-such-branch")
    dev.click("#build-now button")
    expect(dev.locator(".flash")).to_contain_text("ref 'no-such-branch' does not exist")
    dev.fill("input[name=ref]", "main")
    dev.click("#build-now button")
    expect(dev.locator("h1")).to_contain_text("acme/web #3")
    now = build_of(client, dev.url.rsplit("/", 1)[1])
    assert (now["ref"], now["commit"]["sha"]) == ("refs/heads/main", source_repo.head)
    viewer.goto(f"{base}/repositories/acme/web")
    assert viewer.locator("#build-now").count() == 0
    refused = viewer.request.post(f"{base}/repositories/acme/web/build",
                                  form={"csrf_token": token, "ref": "main"})
    assert refused.status == 403
    with app.extensions["lockmaster"].db.session() as session:
        assert session.query(Build).count() == 3
        refusals = {(e.actor, e.action) for e in session.query(AuditEvent)
                    .filter_by(outcome="refused")}
    assert refusals == {("vic", "cancel"), ("vic", "build")}


def _more_builds(app) -> None:
    """Ended builds recorded straight in the database, for the list's filters and paging."""
    rows = [("refs/heads/main", "failed", "pat", "Fix the login page", None),
            ("refs/heads/dev", "failed", "pat", "Login: 100% faster_", None),
            ("refs/heads/main", "staged", "pat", "Tidy the login form", "sha256:" + "ab" * 32),
            ("refs/heads/main", "failed", "bob", "Something else", None),
            ("refs/heads/dev", "failed", "pat", "Log in with a passkey", None)]
    with app.extensions["lockmaster"].db.session() as session:
        for ref, status, pusher, message, digest in rows:
            session.add(Build(repository="acme/web", provider="github", ref=ref,
                              commit_sha=uuid.uuid4().hex + "0" * 8, commit_message=message,
                              pusher=pusher, clone_url="/nowhere", dockerfile="Dockerfile",
                              context=".", status=status, digest=digest, tags=[], history=[],
                              created_at=utcnow(), finished_at=utcnow()))
            session.flush()


def _listed(page, url: str) -> list[str]:
    """Every build id the UI lists for url, following its `Older builds` links."""
    ids = []
    page.goto(url)
    while True:
        ids += [row.get_attribute("data-build-id")
                for row in page.locator("#build-list tr[data-build-id]").all()]
        if page.locator("#next-page").count() == 0:
            return ids
        page.click("#next-page")


def _api_listed(client, query: str) -> list[str]:
    ids, cursor = [], ""
    while True:
        answer = client.get(f"/api/v1/builds?{query}{cursor}").get_json()
        ids += [item["id"] for item in answer["items"]]
        if not answer["next"]:
            return ids
        cursor = f"&cursor={answer['next']}"


def test_an_approver_finds_judges_promotes_and_traces_an_image_on_accessible_pages(
        ui, browser, source_repo, secret):
    app, base = ui
    client = app.test_client()
    answer = post_github(client, source_repo.payload(), secret)
    work(app)
    build = build_of(client, answer.get_json()["builds"][0]["id"])
    assert build["status"] == "staged", build["error"]
    _more_builds(app)
    db = app.extensions["lockmaster"].db
    link(db, "carol", [("github", "carol-gh")])
    token = create_token(db, "carol-ci", "read", "carol")

    carol = log_in(browser, base, "carol", timezone_id="Asia/Tokyo")
    carol.goto(f"{base}/builds")
    carol.select_option("select[name=status]", "failed")
    carol.fill("input[name=q]", "login")
    carol.click("form[role=search] button")
    assert "q=login" in carol.url and "status=failed" in carol.url
    shown = [row.get_attribute("data-build-id")
             for row in carol.locator("#build-list tr[data-build-id]").all()]
    assert len(shown) == 2 and shown == _api_listed(client, "status=failed&q=login")
    for query in ("pusher=pat&limit=2", "ref=dev&limit=1", "q=100%25+faster_",
                  "digest=abababab", f"sha={build['commit']['sha'][:10]}"):
        assert _listed(carol, f"{base}/builds?{query}") == _api_listed(client, query), query
    assert len(_listed(carol, f"{base}/builds?pusher=pat&limit=2")) == 4
    assert carol.goto(f"{base}/builds?digest=nothex").status == 400
    expect(carol.locator("#filter-problem")).to_contain_text("digest 'nothex' must be")

    carol.goto(f"{base}/builds")
    if SHOTS:
        carol.screenshot(path=str(ROOT / "docs" / "builds-list.png"), full_page=True)
    carol.click(f"#build-list a[href='/builds/{build['id']}']")
    expect(carol.locator("h1")).to_contain_text(f"acme/web #{build['number']}")
    symbols = {"pass": "✓", "warn": "⚠", "fail": "✗", "error": "!"}
    badges = carol.locator("#gates .status")
    assert badges.all_inner_texts() == [f"{c['name']} {symbols[c['status']]}"
                                        for c in build["checks"]]
    assert badges.first.get_attribute("aria-label") == \
        f"gate {build['checks'][0]['name']}: {build['checks'][0]['status']}"
    created = carol.locator("time").first
    assert created.get_attribute("title").endswith(" UTC")
    assert "GMT+9" in created.inner_text()
    expect(carol.locator("#live")).to_have_attribute("data-ended", "staged")
    expect(carol.locator("#log")).to_contain_text("staged 127.0.0.1:5000/")
    expect(carol.locator("#retry-form")).to_be_visible()  # approvers may do what developers do
    expect(carol.locator("#cancel-form")).to_be_hidden()  # the build has ended
    for _ in range(400):  # keyboard only: Tab reaches the Approve button (past every log line)
        carol.keyboard.press("Tab")
        if carol.evaluate("document.activeElement.value") == "approve":
            break
    else:
        pytest.fail("Tab never reached the Approve button")
    vic = log_in(browser, base, "vic")
    vic.goto(f"{base}/builds/{build['id']}")
    assert vic.locator("button[value=approve], #retry-form, #cancel-form").count() == 0
    forged = vic.request.post(f"{base}/builds/{build['id']}/decision", form={
        "csrf_token": vic.locator("input[name=csrf_token]").first.input_value(),
        "decision": "approve", "digest": build["image"]["digest"]})
    assert "Refused" in forged.text() and build_of(client, build["id"])["promotions"] == []
    carol.fill("textarea[name=comment]", "ship it")
    carol.click("button[value=approve]")
    expect(carol.locator(".flash")).to_contain_text("promotion is approved")
    work(app)

    carol.click("#digest")
    assert carol.url == f"{base}/images/{build['image']['digest']}"
    expect(carol.locator("#step-commit")).to_contain_text(build["commit"]["sha"])
    expect(carol.locator("#step-staging")).to_contain_text("staging/acme/web")
    expect(carol.locator(".step-promotion")).to_contain_text("approve by carol")
    expect(carol.locator("#env-production")).to_contain_text("serving now")
    name = app.extensions["lockmaster"].settings.registry.path("production", "acme/web")
    served_digest = registry_get(f"{name}/manifests/latest", accept=ACCEPT)
    assert served_digest.headers["Docker-Content-Digest"] == build["image"]["digest"]
    if SHOTS:
        carol.screenshot(path=str(ROOT / "docs" / "lineage-page.png"), full_page=True)
    assert carol.goto(f"{base}/users").status == 403

    erin = log_in(browser, base, "erin", viewport=NARROW)
    erin.goto(f"{base}/users")
    expect(erin.locator("#user-carol")).to_contain_text("github: carol-gh")
    erin.click("#token-carol-ci button")
    expect(erin.locator("#token-carol-ci")).to_contain_text("revoked")
    refused = client.get("/api/v1/builds", headers={"Authorization": f"Bearer {token}"})
    assert refused.status_code == 401

    pages = ["/", "/builds", f"/builds/{build['id']}", "/repositories",
             "/repositories/acme/web", f"/images/{build['image']['digest']}", "/users", "/audit",
             "/environments/production/acme/web", "/builds?status=failed&limit=2"]
    found, wide = [], []
    for path in pages:
        assert erin.goto(base + path).status == 200, path
        wide += [path] if scrolls_sideways(erin) else []
        found += serious_violations(erin)
    stranger = browser.new_context(bypass_csp=True, viewport=NARROW).new_page()
    stranger.goto(f"{base}/login")
    found += serious_violations(stranger)
    wide += ["/login"] if scrolls_sideways(stranger) else []
    assert found == [] and wide == []
