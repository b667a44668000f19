"""Users, tokens and logins: the CLI, the token-guarded approval API, login throttling."""

import threading

import pytest
from click.testing import CliRunner
from werkzeug.serving import make_server

from app import cli
from auth.tokens import create_token
from auth.users import add_user
from devstack.gitpush import account_id
from record.accounts import User
from record.audit import AuditEvent
from record.checks import CheckRecord
from record.models import Build
from record.promotions import Promotion
from tests.support.promotionkit import PASSWORD, add_people, stage
from tests.support.stack import post_github, repo_entry, work


@pytest.fixture
def access_app(make_app, source_repo, tmp_path, monkeypatch):
    """An app plus the environment the CLI reads its settings from."""
    app = make_app([repo_entry(source_repo)], api_token=False, api={"anonymous_read": True})
    settings = app.extensions["lockmaster"].settings
    monkeypatch.setenv("LOCKMASTER_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("LOCKMASTER_CONFIG", str(settings.config_path))
    monkeypatch.setenv("LOCKMASTER_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("LOCKMASTER_REDIS_URL", settings.redis_url)
    return app


def _run(*args: str, stdin: str | None = None):
    return CliRunner().invoke(cli, list(args), input=stdin, catch_exceptions=False)


def test_users_cli_adds_lists_changes_passwords_and_links(access_app):
    added = _run("users", "add", "alice", "--role", "approver", "--repos", "acme/*",
                 "--password-stdin", stdin="a long enough password\n")
    assert added.exit_code == 0 and "created approver alice on acme/*" in added.output
    taken = _run("users", "add", "alice", "--password-stdin", stdin="another password!\n")
    assert taken.exit_code != 0 and "already exists" in taken.output
    short = _run("users", "add", "x", "--password-stdin", stdin="short\n")
    assert short.exit_code != 0 and "at least 10 characters" in short.output
    prompted = _run("users", "add", "zed", stdin="prompted password\nprompted password\n")
    assert prompted.exit_code == 0
    linked = _run("users", "link", "alice", "--github", "alice", "--email", "alice@example.com")
    assert linked.exit_code == 0
    assert _run("users", "link", "zed", "--github", "alice").exit_code != 0
    assert _run("users", "passwd", "alice", "--password-stdin",
                stdin="a new long password\n").exit_code == 0
    listing = _run("users", "list").output
    assert "alice\tapprover\tacme/*\tgithub:alice, email:alice@example.com" in listing
    assert "zed\tviewer" in listing
    client = access_app.test_client()
    assert _login(client, "alice", "a long enough password").status_code == 401
    assert _login(client, "alice", "a new long password").status_code == 302


def test_a_linked_email_makes_the_commit_author_a_self_approver(access_app, source_repo):
    add_people(access_app)
    _run("users", "link", "carol", "--email", "alice@example.com")
    build = stage(access_app, source_repo)
    token = _token("carol-token", "approve", "carol")
    response = access_app.test_client().post(
        f"/api/v1/builds/{build.id}/approvals", json={"decision": "approve"},
        headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 403 and "four-eyes" in response.get_json()["error"]


def _token(name: str, scope: str, owner: str) -> str:
    created = _run("tokens", "create", name, "--scope", scope, "--user", owner)
    assert created.exit_code == 0, created.output
    return created.output.strip().splitlines()[-1]


def test_approval_through_the_api_with_a_personal_token(access_app, source_repo):
    add_people(access_app)
    build = stage(access_app, source_repo)
    client = access_app.test_client()
    url = f"/api/v1/builds/{build.id}/approvals"
    assert client.post(url, json={"decision": "approve"}).status_code == 401
    reader = _token("ci-read", "read", "carol")
    assert client.post(url, json={"decision": "approve"},
                       headers={"Authorization": f"Bearer {reader}"}).status_code == 403
    token = _token("carol-cli", "approve", "carol")
    headers = {"Authorization": f"Bearer {token}"}
    assert client.post(url, data="nope", headers=headers).status_code == 400
    wrong = client.post(url, json={"decision": "approve", "digest": "sha256:" + "0" * 64},
                        headers=headers)
    assert wrong.status_code == 403 and "not this build's digest" in wrong.get_json()["error"]
    answer = client.post(url, json={"decision": "approve", "comment": "lgtm"}, headers=headers)
    assert answer.status_code == 201, answer.get_json()
    assert answer.get_json()["status"] == "approved"
    work(access_app)
    promotion = client.get(f"/api/v1/builds/{build.id}").get_json()["promotions"][0]
    assert promotion["status"] == "promoted"
    assert promotion["approvals"][0] | {"at": None} == {
        "by": "carol", "decision": "approve", "digest": build.digest, "comment": "lgtm",
        "self_approval": False, "via": "api", "at": None}
    assert _run("tokens", "revoke", "carol-cli").exit_code == 0
    assert client.post(url, json={"decision": "approve"}, headers=headers).status_code == 401
    assert _run("tokens", "revoke", "nope").exit_code != 0
    assert _run("tokens", "create", "x", "--user", "nobody").exit_code != 0


def test_the_first_admin_gets_a_one_time_password_it_must_change(access_app):
    first = _run("users", "bootstrap-admin")
    password = first.output.split("one-time password: ")[1].split()[0]
    assert _run("users", "bootstrap-admin").output == ""
    client = access_app.test_client()
    assert _login(client, "admin", password).status_code == 302
    assert client.get("/").headers["Location"].endswith("/password")


def _login(client, username: str, password: str, headers: dict | None = None):
    client.get("/login")
    token = _csrf(client)
    return client.post("/login", data={"username": username, "password": password,
                                       "csrf_token": token}, headers=headers or {})


def _session_cookie(response) -> str:
    return next(c for c in response.headers.getlist("Set-Cookie")
                if c.startswith("lockmaster_session="))


def _csrf(client) -> str:
    page = client.get("/login").text
    return page.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]


def test_login_sets_a_safe_cookie_and_throttles_repeated_failures(access_app):
    add_people(access_app)
    client = access_app.test_client()
    ok = _login(client, "carol", PASSWORD)
    cookie = _session_cookie(ok)
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie
    assert client.get("/").status_code == 200
    over_tls = access_app.test_client().get("/login", base_url="https://localhost")
    assert "Secure" in _session_cookie(over_tls)
    attacker = access_app.test_client()
    for _ in range(5):
        assert _login(attacker, "dave", "wrong password!").status_code == 401
    assert _login(attacker, "dave", PASSWORD).status_code == 429
    with access_app.extensions["lockmaster"].db.session() as session:
        outcomes = [e.outcome for e in session.query(AuditEvent).filter_by(action="login")]
        assert session.query(Promotion).count() == 0
        assert session.query(User).count() == 5
    assert outcomes == ["ok"] + ["failed"] * 5 + ["refused"]


def test_the_session_is_rotated_at_login_and_ends_when_idle(access_app):
    add_people(access_app)
    client = access_app.test_client()
    before = _session_cookie(client.get("/login"))
    after = _session_cookie(_login(client, "carol", PASSWORD))
    assert before.split(";")[0] != after.split(";")[0]
    with client.session_transaction() as session:
        session["seen"] -= 31 * 60
    idle = client.get("/")
    assert idle.status_code == 302 and "/login" in idle.headers["Location"]
    assert client.get("/").status_code == 302


def test_lockmaster_approve_decides_through_the_api(access_app, source_repo, monkeypatch):
    add_people(access_app)
    build = stage(access_app, source_repo)
    server = make_server("127.0.0.1", 0, access_app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setenv("LOCKMASTER_URL", f"http://127.0.0.1:{server.server_port}")
    try:
        monkeypatch.delenv("LOCKMASTER_TOKEN", raising=False)
        assert "set LOCKMASTER_TOKEN" in _run("approve", build.id).output
        monkeypatch.setenv("LOCKMASTER_TOKEN", _token("dave-cli", "approve", "dave"))
        rejected = _run("approve", build.id, "--reject", "--comment", "not this one")
        assert rejected.exit_code == 0, rejected.output
        assert "reject recorded: 0 of 1 approvals; promotion 1 is rejected" in rejected.output
        monkeypatch.setenv("LOCKMASTER_TOKEN", _token("carol-cli", "approve", "carol"))
        refused = _run("approve", build.id)
        assert refused.exit_code != 0 and "was rejected" in refused.output
    finally:
        server.shutdown()
    work(access_app)
    promotion = access_app.test_client().get(f"/api/v1/builds/{build.id}").get_json()
    assert [p["status"] for p in promotion["promotions"]] == ["rejected"]


def test_a_staged_build_with_a_recorded_gate_error_cannot_be_approved(access_app, source_repo):
    add_people(access_app)
    build = stage(access_app, source_repo)
    with access_app.extensions["lockmaster"].db.session() as session:
        assert {c.status for c in session.get(Build, build.id).checks} <= {"pass", "warn"}
        session.add(CheckRecord(build_id=build.id, position=99, name="vulnerabilities",
                                status="error", summary="advisory database unreadable",
                                details={}, duration_ms=1))
    token = _token("carol-cli", "approve", "carol")
    answer = access_app.test_client().post(
        f"/api/v1/builds/{build.id}/approvals", json={"decision": "approve"},
        headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 403
    assert "gates did not pass (error)" in answer.get_json()["error"]
    with access_app.extensions["lockmaster"].db.session() as session:
        assert session.query(Promotion).filter_by(status="approved").count() == 0


def test_four_eyes_goes_by_the_hosts_account_id_and_deciding_needs_scope_approve(
        access_app, source_repo, secret):
    add_people(access_app)
    add_user(access_app.extensions["lockmaster"].db, "una", "approver", ["acme/*"], PASSWORD)
    payload = source_repo.payload(pusher="Robert Tables")
    payload["sender"]["id"] = account_id("bob")  # bob, under another display name
    build_id = post_github(access_app.test_client(), payload, secret).get_json()["builds"][0]["id"]
    work(access_app)
    client = access_app.test_client()
    assert client.get(f"/api/v1/builds/{build_id}").get_json()["status"] == "staged"

    def approve(name: str, scope: str = "approve"):
        token = _token(f"{name}-{scope}", scope, name)
        return client.post(f"/api/v1/builds/{build_id}/approvals", json={"decision": "approve"},
                           headers={"Authorization": f"Bearer {token}"})

    bob = approve("bob")
    assert bob.status_code == 403 and "bob pushed or wrote" in bob.get_json()["error"]
    una = approve("una")
    assert una.status_code == 403
    assert "lockmaster users link una --github-id" in una.get_json()["error"]
    assert approve("carol", "build").status_code == 403
    assert _run("users", "link", "una", "--github-id", "424242").exit_code == 0
    assert approve("una", "admin").status_code == 201
    listing = _run("tokens", "list").output
    assert "carol-build\tbuild\tcarol" in listing and "una-admin\tadmin\tuna" in listing


def test_a_user_scoped_to_acme_reads_and_touches_only_acme(make_app, source_repo, secret):
    app = make_app([repo_entry(source_repo),
                    repo_entry(source_repo, name="other/x", image="other/x")], api_token=False)
    db = app.extensions["lockmaster"].db
    add_people(app)
    add_user(db, "dan", "developer", ["acme/*"], PASSWORD)
    dan = {"Authorization": f"Bearer {create_token(db, 'dan', 'build', 'dan')}"}
    erin = {"Authorization": f"Bearer {create_token(db, 'erin', 'admin', 'erin')}"}
    staged = [stage(app, source_repo, repository=name)
              for _ in range(3) for name in ("acme/web", "other/x")]
    client = app.test_client()
    queued = [post_github(client, source_repo.payload(full_name=name), secret)
              .get_json()["builds"][0]["id"] for name in ("acme/web", "other/x")]
    for build, who in ((staged[0], erin), (staged[1], erin)):
        assert client.post(f"/api/v1/builds/{build.id}/approvals", json={"decision": "reject"},
                           headers=who).status_code == 201

    seen, url, pages = [], "/api/v1/builds?limit=2", 0
    while url:
        page = client.get(url, headers=dan).get_json()
        seen += page["items"]
        pages += 1
        assert len(page["items"]) == 2 or not page["next"]  # pages are never short
        url = page["next"] and f"/api/v1/builds?limit=2&next={page['next']}"
    assert {b["repository"] for b in seen} == {"acme/web"} and len(seen) == 4 and pages == 2
    other = staged[1]
    assert client.get(f"/api/v1/builds/{other.id}", headers=dan).status_code == 404
    assert client.get(f"/api/v1/images/{other.digest}", headers=dan).status_code == 404
    assert client.get(f"/api/v1/images/{other.digest}", headers=erin).status_code == 200
    assert client.get(f"/api/v1/commits/{other.commit_sha}", headers=dan).get_json()[
        "builds"][0]["repository"] == "acme/web"
    audit = client.get("/api/v1/audit", headers=dan).get_json()["items"]
    assert [e["target"] for e in audit] == [f"build {staged[0].id}"]
    assert len(client.get("/api/v1/audit", headers=erin).get_json()["items"]) == 2

    assert client.post(f"/api/v1/builds/{queued[1]}/cancel", headers=dan).status_code == 404
    assert client.post("/api/v1/builds", json={"repository": "other/x", "ref": "main"},
                       headers=dan).status_code == 404
    assert client.get(f"/api/v1/builds/{queued[1]}", headers=erin).get_json()[
        "status"] == "queued"
    assert client.post(f"/api/v1/builds/{queued[0]}/cancel", headers=dan).status_code == 200
    assert client.post(f"/api/v1/builds/{queued[1]}/cancel", headers=erin).status_code == 200
    web = app.test_client()
    assert _login(web, "dan", PASSWORD).status_code == 302
    assert web.get(f"/builds/{other.id}").status_code == 404
    assert staged[0].id in web.get("/audit").text and other.id not in web.get("/audit").text
    assert other.id not in web.get("/").text and staged[2].id in web.get("/").text
    # The web UI's own pages ask the same rule: lists, numbers, lineage and build control.
    listed = web.get("/builds").text
    assert other.id not in listed and staged[2].id in listed and "other/x" not in listed
    assert "other/x" not in web.get("/repositories").text
    assert web.get("/repositories/other/x").status_code == 404
    assert web.get("/repositories/other/x/builds/1").status_code == 404
    assert web.get(f"/images/{other.digest}").status_code == 404
    assert web.get(f"/images/{staged[0].digest}").status_code == 200
    page = web.get(f"/builds/{queued[0]}").text
    assert 'id="retry-form"' in page
    csrf = page.split('name="csrf_token" value="')[1].split('"')[0]
    assert web.post(f"/builds/{queued[1]}/retry", data={"csrf_token": csrf}).status_code == 404
    assert web.post(f"/builds/{queued[0]}/retry", data={"csrf_token": csrf}).status_code == 303
