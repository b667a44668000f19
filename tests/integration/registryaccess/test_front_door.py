"""The token service as a front door: guessing slows the guesser only, a password costs one
hash a minute, a revoke holds at once, and nonsense credentials are a 401."""

from __future__ import annotations

import json
import logging
import re
import time
from concurrent.futures import ThreadPoolExecutor

import jwt
import pytest
import requests
from click.testing import CliRunner
from werkzeug.test import Client as FlaskClient
from werkzeug.wrappers import Response

from app import cli
from devstack.gitpush import signed_headers
from ops.headers import HEADERS
from record.audit import AuditEvent
from registry import tokentally
from registry.robots import all_robots, create_robot
from registry.views import HSTS
from tests.support.guarded import Guarded, use_installation
from tests.support.promotionkit import PASSWORD, add_people
from tests.support.stack import repo_entry
from tests.support.webserver import free_port, gunicorn

ATTACKER, FLEET = "203.0.113.9", "198.51.100.7"


@pytest.fixture
def door(make_app, source_repo, registry_prefix, monkeypatch):
    """Token auth on and a gunicorn of the test's own (the token service needs no registry),
    believing X-Forwarded-For from loopback so the test can play clients at any address."""
    app = make_app([repo_entry(source_repo)], web={"trusted_proxies": ["127.0.0.1"]},
                   registry={"url": "127.0.0.1:5000", "insecure": True, "auth": "token",
                             "staging": f"{registry_prefix}/staging",
                             "production": f"{registry_prefix}/production"})
    add_people(app)
    with gunicorn(use_installation(monkeypatch, app)) as web:
        yield Guarded(app, "127.0.0.1:5000", web, None, None)


def _token(door: Guarded, auth, address: str = FLEET, headers: dict | None = None,
           scope: str | None = None) -> requests.Response:
    scope = scope or f"repository:{door.settings.registry.path('production', 'acme/web')}:pull"
    return requests.get(f"{door.web}/auth/token", auth=auth, timeout=30,
                        headers={"X-Forwarded-For": address, **(headers or {})},
                        params={"service": "lockmaster-registry", "scope": scope})


def _hashes(door: Guarded) -> float:
    text = requests.get(f"{door.web}/metrics", timeout=30).text
    found = re.search(r"^lockmaster_registry_password_hashes_total (\S+)$", text, re.M)
    return float(found.group(1)) if found else 0.0


def test_guessing_slows_that_address_only_and_grants_are_audited_per_minute(door, secret):
    production = door.settings.registry.path("production", "acme/web")
    made = CliRunner().invoke(cli, ["robots", "create", "deploy-web", "--pull", production])
    token = made.output.strip().splitlines()[-1]
    guesses = [_token(door, ("deploy-web", f"lmr_guess{n}"), ATTACKER).status_code
               for n in range(30)]
    assert guesses[:5] == [401] * 5 and set(guesses[5:]) == {429}
    assert _token(door, ("deploy-web", token), ATTACKER).status_code == 429
    fleet = _token(door, ("deploy-web", token), FLEET)
    assert fleet.status_code == 200, fleet.text
    claims = jwt.decode(fleet.json()["token"], options={"verify_signature": False})
    assert claims["access"] == [{"type": "repository", "name": production, "actions": ["pull"]}]
    body = json.dumps({"zen": "Keep it simple.", "hook_id": 1,
                       "repository": {"full_name": "acme/web"}}).encode()
    ping = requests.post(f"{door.web}/webhooks/github", data=body, timeout=5,
                         headers=signed_headers(body, secret, event="ping"))
    assert ping.status_code == 200 and "ignored" in ping.json()
    with requests.Session() as fleet_session:
        burst = [fleet_session.get(f"{door.web}/auth/token", auth=("deploy-web", token),
                                   headers={"X-Forwarded-For": FLEET}, timeout=30,
                                   params={"service": "lockmaster-registry",
                                           "scope": f"repository:{production}:pull"}).status_code
                 for _ in range(500)]
    assert burst == [200] * 500
    audited = door.audit()
    assert [e.outcome for e in audited if e.outcome != "ok"] == ["denied"] * 5 + ["throttled"] * 26
    grants = [e for e in audited if e.outcome == "ok"]
    assert len(grants) <= 3 and {e.actor for e in grants} == {"deploy-web"}
    assert sum(e.data["count"] for e in grants) == 501
    assert all(e.data["granted"] == [f"repository:{production}:pull"] for e in grants)
    robot = next(r for r in all_robots(door.runtime.db) if r.name == "deploy-web")
    assert robot.last_used_at is not None
    for header in ("Basic !!!", "Basic " + "QUFB" * 2000, "Bearer lm_abc", "Basic bG1fOg==",
                   "Basic dTpsbV9ub3N1Y2g=", "Basic dTpsbXJfbm9zdWNo", "Basic /w=="):
        answer = _token(door, None, address=f"192.0.2.{len(header) % 250}",
                        headers={"Authorization": header})
        assert answer.status_code == 401, (header, answer.text)
        assert answer.json()["errors"][0]["code"] == "UNAUTHORIZED"


def test_one_hash_a_minute_per_password_and_a_revoke_holds_at_once(door):
    before = _hashes(door)
    with ThreadPoolExecutor(50) as pool:  # 50 at once: one computes, the others wait for it
        answers = list(pool.map(lambda n: _token(door, ("carol", PASSWORD),
                                                 scope=f"repository:x/y{n}:pull"), range(50)))
    assert [a.status_code for a in answers] == [200] * 50
    assert _hashes(door) - before == 1
    time.sleep(tokentally.FLUSH_SECONDS + 0.3)  # the web processes hand fresh tokens over
    issued = [k for k in door.runtime.redis.scan_iter("lockmaster:token-issued:*")]
    assert issued and all(0 < door.runtime.redis.ttl(k) <= 5 for k in issued)
    again = _token(door, ("carol", PASSWORD), scope="repository:x/y7:pull").json()["token"]
    assert again == answers[7].json()["token"]  # handed out again within 5 s
    changed = CliRunner().invoke(cli, ["users", "passwd", "carol", "--password-stdin"],
                                 input="another long password\n")
    assert changed.exit_code == 0, changed.output
    assert _token(door, ("carol", PASSWORD)).status_code == 401
    assert _token(door, ("carol", "another long password")).status_code == 200
    after = _token(door, ("carol", "another long password"), scope="repository:x/y7:pull")
    assert after.json()["token"] != again  # never the same token after a credential change

    made = CliRunner().invoke(cli, ["tokens", "create", "ci", "--scope", "read", "--user",
                                    "carol"])
    api_token = made.output.strip().splitlines()[-1]
    assert _token(door, ("anyone", api_token)).status_code == 200
    assert _token(door, ("anyone", api_token)).status_code == 200  # now remembered
    assert CliRunner().invoke(cli, ["tokens", "revoke", "ci"]).exit_code == 0
    assert _token(door, ("anyone", api_token)).status_code == 401


def test_a_role_or_scope_change_holds_at_once_for_the_user_and_their_tokens(door):
    def actions(auth, scope=None) -> list:
        answer = _token(door, auth, scope=scope)
        assert answer.status_code == 200, answer.text
        claims = jwt.decode(answer.json()["token"], options={"verify_signature": False})
        return [a for entry in claims["access"] for a in entry["actions"]]

    made = CliRunner().invoke(cli, ["tokens", "create", "ci", "--user", "carol"])
    api_token = made.output.strip().splitlines()[-1]
    assert actions(("carol", PASSWORD)) == ["pull"]  # approver of acme/*: remembered now
    assert actions(("anyone", api_token)) == ["pull"]
    narrowed = CliRunner().invoke(cli, ["users", "set", "carol", "--repos", "other/*"])
    assert narrowed.exit_code == 0, narrowed.output
    assert "carol is now approver on other/*" in narrowed.output
    assert actions(("carol", PASSWORD)) == []  # neither the check nor a token is reused
    assert actions(("anyone", api_token)) == []
    catalog = "registry:catalog:*"
    assert actions(("carol", PASSWORD), catalog) == []
    promoted = CliRunner().invoke(cli, ["users", "set", "carol", "--role", "admin"],
                                  env={"LOCKMASTER_USER": "root-on-host"})
    assert promoted.exit_code == 0, promoted.output
    audited = door.app.test_client().get(
        "/api/v1/audit?action=user-access",
        headers={"Authorization": f"Bearer {door.app.config['TEST_TOKEN']}"}).get_json()
    assert [(e["actor"], e["target"]) for e in audited["items"]][:1] == [("root-on-host",
                                                                          "carol")]
    assert actions(("carol", PASSWORD), catalog) == ["*"]
    assert actions(("carol", PASSWORD)) == ["pull"]
    refused = CliRunner().invoke(cli, ["users", "set", "nobody", "--role", "viewer"])
    assert refused.exit_code != 0 and "no user named 'nobody'" in refused.output
    assert CliRunner().invoke(cli, ["users", "set", "carol"]).exit_code == 2


def test_the_token_endpoint_before_flask_answers_as_the_flask_view(make_app, source_repo,
                                                                  caplog):
    app = make_app([repo_entry(source_repo)], registry={"auth": "token",
                                                        "production": "production"})
    token = create_robot(app.extensions["lockmaster"].db, "deploy-web", ["production/*"])
    query = {"service": "lockmaster-registry", "scope": "repository:production/acme/web:pull"}
    fast, view = app.test_client(), FlaskClient(app.wsgi_app.wrapped, Response)
    for auth, status in ((("deploy-web", token), 200), (("deploy-web", "lmr_wrong"), 401)):
        answers = [client.get("/auth/token", query_string=query, auth=auth,
                              base_url="https://lockmaster.test",
                              headers={"X-Request-ID": f"r-{status}"})
                   for client in (fast, view)]
        assert [a.status_code for a in answers] == [status, status]
        assert answers[0].headers["Strict-Transport-Security"] == HSTS
        assert answers[0].headers["X-Request-ID"] == f"r-{status}"
        # the view's "Vary: Cookie" is Flask-Login looking at a session a token never reads
        assert set(answers[0].headers.keys()) == set(answers[1].headers.keys()) - {"Vary"}
        for name in ("Content-Type", "WWW-Authenticate", *HEADERS):
            assert answers[0].headers.get(name) == answers[1].headers.get(name)
        bodies = [a.get_json() for a in answers]
        assert bodies[0].keys() == bodies[1].keys()
    with caplog.at_level(logging.INFO, logger="lockmaster.access"):
        caplog.clear()  # the comparison above logged too
        fast.get("/auth/token", query_string=query, auth=("deploy-web", token))
        fast.get("/auth/token", query_string=query, auth=("deploy-web", "lmr_wrong"))
    logged = [r.status for r in caplog.records if r.name == "lockmaster.access"]
    assert logged == [401]  # a full grant is audited in aggregate, a refusal line by line
    assert fast.head("/auth/token", query_string=query,
                     auth=("deploy-web", token)).status_code == 200  # HEAD: the Flask view


def test_without_redis_tokens_come_from_the_database(make_app, source_repo, registry_prefix):
    app = make_app([repo_entry(source_repo)], redis=f"redis://127.0.0.1:{free_port()}/0",
                   api_token=False, registry={"auth": "token", "production": "production"})
    token = create_robot(app.extensions["lockmaster"].db, "deploy-web", ["production/*"])
    client = app.test_client()
    scope = {"service": "lockmaster-registry", "scope": "repository:production/acme/web:pull"}
    granted = client.get("/auth/token", query_string=scope, auth=("deploy-web", token))
    assert granted.status_code == 200, granted.text
    claims = jwt.decode(granted.json["token"], options={"verify_signature": False})
    assert claims["access"][0]["actions"] == ["pull"]
    assert client.get("/auth/token", query_string=scope,
                      auth=("deploy-web", "lmr_wrong")).status_code == 401
    with app.extensions["lockmaster"].db.session() as session:
        outcomes = [e.outcome for e in session.query(AuditEvent).filter_by(
            action="registry-token").order_by(AuditEvent.id)]
    assert outcomes == ["ok", "denied"]
