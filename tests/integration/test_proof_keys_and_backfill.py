"""Images without proofs: refused, an admin's audited override, `sign --backfill`; key rotation
keeps old proofs verifiable and stops a worker with a retired key; rollback verifies."""

import json
import shutil
import subprocess
from dataclasses import replace

import pytest

from devstack.services import REGISTRY_ADDR
from distribution.client import RegistryClient
from promotion.decisions import decide
from promotion.proofs import expected_for
from promotion.rollback import rollback
from provenance import formats
from provenance.keys import SigningKeyError
from provenance.keystore import trusted_keys, worker_signer
from provenance.sources import RegistrySource
from provenance.verify import verify_image
from record.audit import AuditEvent
from record.models import Build
from record.promotions import Promotion
from tests.support.buildhelpers import LOCKMASTER, lockmaster_env
from tests.support.promotionkit import PASSWORD, add_people, stage
from tests.support.stack import repo_entry, work

REGISTRY = RegistryClient(f"http://{REGISTRY_ADDR}")


def test_unsigned_images_are_refused_overridden_backfilled_and_rotation_keeps_them_verified(
        make_app, source_repo, registry_prefix, monkeypatch):
    app = make_app([repo_entry(source_repo, promotion={"tags": ["latest"]})])
    add_people(app)
    runtime = app.extensions["lockmaster"]
    monkeypatch.setattr("tests.support.promotionkit.sign", lambda *args: None)
    old = stage(app, source_repo)  # staged before images were signed
    monkeypatch.undo()
    production = f"{registry_prefix}/production/acme/web"
    worker_signer(runtime.settings, runtime.db)  # a worker has signed other images

    _approve(app, old)
    assert _promotions(app)[-1].status == "failed"
    assert "no signature (" in _promotions(app)[-1].reason
    assert REGISTRY.manifest_digest(production, old.digest) is None

    refused = _lockmaster(app, "allow-unsigned", old.id, "--admin", "carol", "--reason", "x")
    assert refused.returncode == 1 and "not an admin" in refused.stderr
    allowed = _lockmaster(app, "allow-unsigned", old.id, "--admin", "erin", "--reason",
                          "hotfix staged before signing")
    assert allowed.returncode == 0, allowed.stderr
    _approve(app, old)
    assert _promotions(app)[-1].status == "promoted"
    assert _promotions(app)[-1].proof["override"]["by"] == "erin"
    assert _audited(app, "proof-override") == ["erin"]

    backfilled = _lockmaster(app, "sign", "--backfill", "--repository", "acme/web")
    assert backfilled.returncode == 0, backfilled.stderr
    assert "carried to production" in backfilled.stdout
    _verifies(app, old, production)
    assert _proof(app, old.id)["backfilled"] is True

    first_key = trusted_keys(runtime.db)
    key_file = runtime.settings.signing.key_path(runtime.settings.data_dir)
    retired_copy = key_file.with_name("old.key")
    shutil.copy(key_file, retired_copy)
    rotated = _lockmaster(app, "signing-keys", "--rotate")
    assert rotated.returncode == 0, rotated.stderr
    keys = app.test_client().get("/api/v1/signing-keys",
                                 headers={"Authorization": ""}).get_json()["keys"]
    assert [k["status"] for k in keys] == ["active", "retired"]
    assert keys[1]["id"] == next(iter(first_key)) and keys[0]["id"] != keys[1]["id"]
    assert key_file.stat().st_mode & 0o777 == 0o600
    _verifies(app, old, production)  # signed by the retired key: still trusted
    stale = replace(runtime.settings, signing=replace(runtime.settings.signing,
                                                      key_file=retired_copy))
    with pytest.raises(SigningKeyError, match="is not the active key"):
        worker_signer(stale, runtime.db)

    new = stage(app, source_repo, size=4096)  # signed with the new key, no SBOM gate ran
    page = _page(app, new.id)
    assert "signed" in page and "no SBOM attestation" in page and "made after the fact" not in page
    assert "made after the fact" in _page(app, old.id)
    _approve(app, new)
    assert _promotions(app)[-1].status == "promoted", _promotions(app)[-1].reason
    sig_before = REGISTRY.manifest(production, formats.signature_tag(old.digest)).raw
    rollback(runtime, "erin", "production", "acme/web", old.digest, "back")
    work(app)
    back = _promotions(app)[-1]
    assert (back.kind, back.status) == ("rollback", "promoted"), back.reason
    assert any(line.startswith("signature: ") for line in back.proof["verified"])
    assert REGISTRY.manifest(production, formats.signature_tag(old.digest)).raw == sig_before
    assert len(json.loads(sig_before)["layers"]) == 2


def _verifies(app, build, repository):
    runtime = app.extensions["lockmaster"]
    with runtime.db.session() as session:
        row = session.get(Build, build.id)
    expected = expected_for(runtime, row, f"{REGISTRY_ADDR}/{repository}", build.digest)
    verify_image(RegistrySource(REGISTRY, repository), trusted_keys(runtime.db), expected)


def _approve(app, build):
    decide(app.extensions["lockmaster"], build.id, "carol", "approve", build.digest, "ok")
    work(app)


def _promotions(app):
    with app.extensions["lockmaster"].db.session() as session:
        return list(session.query(Promotion).order_by(Promotion.id))


def _proof(app, build_id):
    with app.extensions["lockmaster"].db.session() as session:
        return session.get(Build, build_id).proof


def _audited(app, action):
    with app.extensions["lockmaster"].db.session() as session:
        return [e.actor for e in session.query(AuditEvent).filter(AuditEvent.action == action)]


def _page(app, build_id) -> str:
    web = app.test_client()
    form = web.get("/login").text
    token = form.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
    web.post("/login", data={"username": "erin", "password": PASSWORD, "csrf_token": token})
    return web.get(f"/builds/{build_id}").get_data(as_text=True)


def _lockmaster(app, *args):
    return subprocess.run([LOCKMASTER, *args], env=lockmaster_env(app), capture_output=True,
                          text=True, timeout=120)
