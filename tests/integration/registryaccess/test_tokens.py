"""The registry asks Lockmaster for tokens: real registry, real docker CLI, real skopeo."""

from __future__ import annotations

import base64
import subprocess

import jwt
import pytest
import requests
from click.testing import CliRunner

from app import cli
from distribution.client import RegistryClient, RegistryError
from registry import signing
from registry.policy import Scope
from registry.tokenservice import sign
from tests.support.guarded import Guarded
from tests.support.promotionkit import PASSWORD


def _token(guarded: Guarded, auth: tuple[str, str] | None, *scopes: str) -> requests.Response:
    return requests.get(f"{guarded.web}/auth/token", auth=auth, timeout=30,
                        params={"service": "lockmaster-registry", "scope": list(scopes)})


def test_people_pull_robots_push_and_nobody_else(guarded):
    builder, promoter = guarded.robot("builder"), guarded.robot("promoter")
    assert guarded.login(*builder).returncode == 0
    assert guarded.push(guarded.ref("staging", "b1")).returncode == 0
    denied = guarded.push(guarded.ref("production", "b1"))
    assert denied.returncode != 0 and "denied" in denied.stderr.lower()
    assert guarded.login(*promoter).returncode == 0
    assert guarded.push(guarded.ref("production", "p1")).returncode == 0
    assert guarded.push(guarded.ref("staging", "p1")).returncode != 0

    for person in ("carol", "erin"):  # an approver and an admin
        assert guarded.login(person, PASSWORD).returncode == 0
        pulled = guarded.docker("pull", guarded.ref("production", "p1"))
        assert pulled.returncode == 0, pulled.stderr
        guarded.docker("rmi", "--no-prune", guarded.ref("production", "p1"))
        assert guarded.push(guarded.ref("production", "h1")).returncode != 0
    assert guarded.login("vic", PASSWORD).returncode == 0  # a viewer of nothing
    assert guarded.docker("pull", guarded.ref("production", "p1")).returncode != 0

    wrong = guarded.login("carol", "not the password")
    assert wrong.returncode != 0 and "unauthorized" in wrong.stderr.lower(), wrong.stderr
    refusal = [e for e in guarded.audit() if e.outcome == "denied"][-1]
    assert refusal.actor == "carol" and refusal.detail == "wrong username, password or token"
    granted = [e for e in guarded.audit() if e.actor == promoter[0] and e.outcome == "ok"]
    assert any(f"{guarded.settings.registry.production}/acme/web:push" in g
               for e in granted for g in e.data["granted"])


def test_a_deploy_robot_pulls_its_repositories_only_until_revoked(guarded):
    production = guarded.settings.registry.production
    guarded.login(*guarded.robot("promoter"))
    assert guarded.push(guarded.ref("production", "d1")).returncode == 0
    assert guarded.push(guarded.ref("production", "d1", image="acme/api")).returncode == 0
    made = CliRunner().invoke(cli, ["robots", "create", "deploy-web",
                                    "--pull", f"{production}/acme/web"])
    assert made.exit_code == 0, made.output
    token = made.output.strip().splitlines()[-1]
    assert guarded.login("deploy-web", token).returncode == 0
    assert guarded.docker("pull", guarded.ref("production", "d1")).returncode == 0
    guarded.docker("rmi", "--no-prune", guarded.ref("production", "d1"))
    other = guarded.docker("pull", guarded.ref("production", "d1", image="acme/api"))
    assert other.returncode != 0
    assert guarded.push(guarded.ref("production", "d2")).returncode != 0

    assert CliRunner().invoke(cli, ["robots", "revoke", "deploy-web"]).exit_code == 0
    assert _token(guarded, ("deploy-web", token)).status_code == 401
    assert guarded.login("deploy-web", token).returncode != 0
    listed = CliRunner().invoke(cli, ["robots", "list"]).output
    assert f"deploy-web\tdeploy\t{production}/acme/web\trevoked" in listed
    again = CliRunner().invoke(cli, ["robots", "create", "deploy-web", "--pull", "x/*"])
    assert again.exit_code != 0 and "already exists" in again.output


def test_a_partial_grant_is_a_token_with_only_the_allowed_action(guarded):
    name = guarded.settings.registry.path("production", "acme/web")
    response = _token(guarded, ("carol", PASSWORD), f"repository:{name}:pull,push",
                      "registry:catalog:*")
    assert response.status_code == 200
    body = response.json()
    assert body["token"] == body["access_token"] and body["expires_in"] == 300
    header = jwt.get_unverified_header(body["token"])
    cert = base64.b64decode(header["x5c"][0])
    assert header["alg"] == "ES256"
    bundle = signing.bundle_path(guarded.settings.data_dir).read_text()
    assert base64.b64encode(cert).decode()[:64] in bundle.replace("\n", "")
    claims = jwt.decode(body["token"], options={"verify_signature": False})
    assert claims["access"] == [{"type": "repository", "name": name, "actions": ["pull"]}]
    assert {"iss", "sub", "aud", "exp", "nbf", "iat", "jti"} <= set(claims)
    assert claims["sub"] == "carol" and claims["aud"] == "lockmaster-registry"
    event = guarded.audit()[-1]
    assert event.outcome == "partial" and event.data["granted"] == [f"repository:{name}:pull"]
    admin = _token(guarded, ("erin", PASSWORD), "registry:catalog:*").json()
    assert jwt.decode(admin["token"], options={"verify_signature": False})["access"] == [
        {"type": "registry", "name": "catalog", "actions": ["*"]}]


def test_the_client_gets_a_token_and_a_new_one_when_it_expired(guarded):
    name = guarded.settings.registry.path("production", "acme/web")
    assert guarded.login(*guarded.robot("promoter")).returncode == 0
    pushed = guarded.push(guarded.ref("production", "e1"))
    assert pushed.returncode == 0, pushed.stderr
    client = RegistryClient(f"http://{guarded.addr}", credentials=guarded.robot("promoter"))
    digest = client.manifest_digest(name, "e1")
    assert digest and client.bearer.token
    key = signing.load_or_create(guarded.settings.data_dir)
    expired = sign(key, "lockmaster-promoter", "lockmaster-registry",
                   [Scope("repository", name, ("pull",))], 30, now=0)["token"]
    client.bearer.token = expired
    assert client.manifest_digest(name, "e1") == digest
    assert client.bearer.token != expired
    anonymous = RegistryClient(f"http://{guarded.addr}", attempts=1)
    with pytest.raises(RegistryError, match="answered 401"):
        anonymous.manifest(name, "e1")
    skopeo = subprocess.run(["skopeo", "inspect", "--tls-verify=false", "--creds",
                             "carol:" + PASSWORD, "--format", "{{.Digest}}",
                             f"docker://{guarded.ref('production', 'e1')}"],
                            capture_output=True, text=True, timeout=60)
    assert skopeo.returncode == 0 and skopeo.stdout.strip() == digest, skopeo.stderr
    assert client.tags(name) == ["e1"]
