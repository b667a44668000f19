"""The approval UI in real Chromium (Debian's package) driven by Playwright."""

import os
import shutil
from pathlib import Path

from promotion.decisions import decide
from record.audit import AuditEvent
from record.promotions import Promotion
from tests.support.browserkit import log_in
from tests.support.stack import post_github, registry_get, work

ROOT = Path(__file__).resolve().parents[2]
ACCEPT = "application/vnd.docker.distribution.manifest.v2+json"


def _staged(app, source_repo, secret) -> dict:
    response = post_github(app.test_client(), source_repo.payload(), secret)
    work(app)
    build_id = response.get_json()["builds"][0]["id"]
    build = app.test_client().get(f"/api/v1/builds/{build_id}").get_json()
    assert build["status"] == "staged", build["error"]
    return build


def _promotions(app) -> list[Promotion]:
    with app.extensions["lockmaster"].db.session() as session:
        return list(session.query(Promotion))


def test_log_in_open_a_pending_build_approve_and_see_it_promoted(web, browser, source_repo,
                                                                 secret, tmp_path):
    app, base = web
    first = _staged(app, source_repo, secret)
    decide(app.extensions["lockmaster"], first["id"], "dave", "approve",
           first["image"]["digest"])
    work(app)
    source_repo.commit({"app.txt": "version 2\n"}, "Say version 2")
    source_repo.commit({"extra.txt": "x" * 5000, "Dockerfile": (source_repo.path / "Dockerfile")
                        .read_text() + "COPY extra.txt /app/\n"}, "Ship the extra file")
    build = _staged(app, source_repo, secret)

    page = log_in(browser, base, "carol", bypass_csp=False)
    page.click(f"#pending a[href='/builds/{build['id']}']")
    assert page.inner_text("#digest") == build["image"]["digest"]
    assert page.input_value("input[name=digest]") == build["image"]["digest"]
    commits = page.inner_text("#commits")
    assert "Ship the extra file" in commits and "Say version 2" in commits
    assert "Initial version" not in commits
    assert page.inner_text("#size-delta").startswith("+")
    # The commit's author links to no user: shown, and it does not block the approval below.
    assert "Alice Author links to no Lockmaster user" in page.inner_text("#author-unlinked")
    page.screenshot(path=str(tmp_path / "build-page.png"), full_page=True)
    if os.environ.get("LOCKMASTER_UPDATE_SCREENSHOT"):
        shutil.copy(tmp_path / "build-page.png", ROOT / "docs" / "build-page.png")

    page.fill("textarea[name=comment]", "looks right")
    page.click("button[value=approve]")
    assert "(1 of 1 approvals); promotion is approved" in page.inner_text(".flash")
    work(app)
    page.reload()
    assert "promoted" in page.inner_text("#promotions")
    assert page.inner_text("#environment") == "production"
    name = app.extensions["lockmaster"].settings.registry.path("production", "acme/web")
    served = registry_get(f"{name}/manifests/latest", accept=ACCEPT)
    assert served.headers["Docker-Content-Digest"] == build["image"]["digest"]
    page.goto(f"{base}/audit")
    assert "looks right" in page.inner_text("#audit")

    admin = log_in(browser, base, "erin", bypass_csp=False)
    admin.goto(f"{base}/environments/production/acme/web")
    admin.fill("input[name=comment]", "back to the first")
    admin.click("text=Roll back to this")
    assert "Rollback of acme/web in production" in admin.inner_text(".flash")
    work(app)
    served = registry_get(f"{name}/manifests/latest", accept=ACCEPT)
    assert served.headers["Docker-Content-Digest"] == first["image"]["digest"]
    admin.goto(f"{base}/audit")
    assert "rollback" in admin.inner_text("#audit")


def test_forged_posts_and_gets_change_nothing(web, browser, source_repo, secret):
    app, base = web
    build = _staged(app, source_repo, secret)
    page = log_in(browser, base, "carol", bypass_csp=False)
    url = f"{base}/builds/{build['id']}/decision"
    digest = build["image"]["digest"]

    no_token = page.request.post(url, form={"decision": "approve", "digest": digest})
    assert no_token.status == 400
    assert page.goto(url).status == 405

    page.goto(f"{base}/builds/{build['id']}")
    token = page.input_value("input[name=csrf_token]")
    page.route("http://evil.test/", lambda route: route.fulfill(content_type="text/html", body=(
        f'<form id=f method=post action="{url}"><input name=csrf_token value="{token}">'
        f'<input name=digest value="{digest}"><input name=decision value=approve></form>'
        "<script>document.getElementById('f').submit()</script>")))
    with page.expect_response(url) as answer:
        page.goto("http://evil.test/")
    assert answer.value.status == 403

    work(app)
    assert _promotions(app) == []
    with app.extensions["lockmaster"].db.session() as session:
        refused = {e.action for e in session.query(AuditEvent).filter_by(outcome="refused")}
    assert refused == {"decision", "cross-site-post"}


def test_two_approvers_clicking_at_once_make_one_promotion(web, browser, source_repo, secret):
    app, base = web
    build = _staged(app, source_repo, secret)
    pages = [log_in(browser, base, who, bypass_csp=False) for who in ("carol", "dave")]
    for page in pages:
        page.goto(f"{base}/builds/{build['id']}")
    for page in pages:
        page.click("button[value=approve]", no_wait_after=True)
    for page in pages:
        page.wait_for_selector(".flash")
    work(app)
    promotions = _promotions(app)
    assert len(promotions) == 1 and promotions[0].status == "promoted"
    assert {a.username for a in promotions[0].approvals} == {"carol", "dave"}
