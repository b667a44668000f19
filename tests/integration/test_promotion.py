"""Approve → promote against the real registry, Redis and RQ worker."""

import subprocess
import threading

import docker
import pytest

from devstack.services import REGISTRY_ADDR
from distribution.client import MANIFEST_TYPES
from promotion.decisions import decide
from promotion.dispatch import enqueue_promotion
from promotion.policy import Refused
from promotion.rollback import rollback
from record.audit import AuditEvent
from record.promotions import Promotion
from tests.support.promotionkit import add_people, stage
from tests.support.registryproxy import Faults, RegistryProxy
from tests.support.stack import registry_get, repo_entry, work

ACCEPT = ", ".join(MANIFEST_TYPES)


@pytest.fixture
def promoting(make_app, source_repo):
    """An app whose acme/web promotes with the given promotion rules; people added."""

    def factory(registry: dict | None = None, **rules):
        extra = {"registry": registry} if registry else {}
        app = make_app([repo_entry(source_repo, promotion=rules)], **extra)
        add_people(app)
        return app

    return factory


def _served(app, environment: str, reference: str) -> str | None:
    name = app.extensions["lockmaster"].settings.registry.path(environment, "acme/web")
    response = registry_get(f"{name}/manifests/{reference}", accept=ACCEPT)
    return response.headers.get("Docker-Content-Digest") if response.ok else None


def _approve(app, build, who="carol"):
    return decide(app.extensions["lockmaster"], build.id, who, "approve", build.digest, "ok")


def _promotions(app):
    with app.extensions["lockmaster"].db.session() as session:
        return list(session.query(Promotion).order_by(Promotion.id))


@pytest.mark.parametrize("kind", ["docker", "oci", "index"])
def test_production_serves_the_staging_digest(promoting, source_repo, kind):
    app = promoting()
    build = stage(app, source_repo, kind=kind)
    decided = _approve(app, build)
    assert decided.status == "approved"
    work(app)
    tags = ["sha-" + source_repo.head[:12], "latest"]
    assert _served(app, "production", build.digest) == build.digest
    for tag in tags:
        assert _served(app, "production", tag) == build.digest
    record = app.test_client().get(f"/api/v1/builds/{build.id}").get_json()
    promotion = record["promotions"][0]
    assert (promotion["status"], promotion["from"], promotion["to"]) == (
        "promoted", "staging", "production")
    assert promotion["digest"] == build.digest and promotion["tags"] == tags
    assert promotion["approvals"][0]["by"] == "carol" and promotion["replaced_digest"] is None
    env = app.test_client().get("/api/v1/environments/production/acme/web").get_json()
    assert env["digest"] == build.digest and env["build_id"] == build.id


def test_a_promoted_tag_pulls_with_docker_and_skopeo_sees_the_digest(promoting, source_repo):
    app = promoting(tags=["sha-{short_sha}"])
    build = stage(app, source_repo)
    _approve(app, build)
    work(app)
    name = app.extensions["lockmaster"].settings.registry.path("production", "acme/web")
    reference = f"{REGISTRY_ADDR}/{name}:sha-{source_repo.head[:12]}"
    client = docker.from_env(timeout=120)
    try:
        image = client.images.pull(reference)
        assert f"{REGISTRY_ADDR}/{name}@{build.digest}" in image.attrs["RepoDigests"]
    finally:
        client.images.remove(reference, force=True)
    inspected = subprocess.run(["skopeo", "inspect", "--tls-verify=false", "--format",
                                "{{.Digest}}", f"docker://{reference}"],
                               capture_output=True, text=True, timeout=60, check=True)
    assert inspected.stdout.strip() == build.digest


def test_a_registry_500_on_the_manifest_put_is_retried_fails_and_can_be_approved_again(
        promoting, source_repo, registry_prefix):
    with RegistryProxy(Faults(manifest_put_errors=100)) as proxy:
        app = promoting(registry={"url": proxy.address, "insecure": True,
                                  "staging": f"{registry_prefix}/staging",
                                  "production": f"{registry_prefix}/production"})
        build = stage(app, source_repo)
        _approve(app, build)
        work(app)
        puts = [s for s in proxy.faults.seen if s.startswith("PUT") and "/manifests/" in s
                and not s.endswith((".sig", ".att"))]  # the proofs travel beside the image
        assert len(puts) == 4
        promotion = _promotions(app)[0]
        assert promotion.status == "failed"
        assert "answered 500" in promotion.reason
        assert "registry refused the copy" in promotion.reason
        assert _served(app, "production", "latest") is None
        assert _served(app, "production", build.digest) is None

        proxy.faults.manifest_put_errors = 0
        assert _approve(app, build).status == "approved"
        work(app)
    assert [p.status for p in _promotions(app)] == ["failed", "promoted"]
    assert _served(app, "production", "latest") == build.digest


def test_an_immutable_tag_is_never_moved(promoting, source_repo):
    app = promoting(tags=["{version}", "latest"])
    first = stage(app, source_repo, ref="refs/tags/v1.0")
    _approve(app, first)
    work(app)
    sha = source_repo.commit({"app.txt": "v1.0 again\n"}, "Retag v1.0")
    second = stage(app, source_repo, ref="refs/tags/v1.0", sha=sha)
    _approve(app, second)
    work(app)
    promotion = _promotions(app)[-1]
    assert promotion.status == "failed"
    assert "tag 'v1.0' already points at" in promotion.reason
    assert _served(app, "production", "v1.0") == first.digest
    assert _served(app, "production", "latest") == first.digest
    with app.extensions["lockmaster"].db.session() as session:
        refused = session.query(AuditEvent).filter_by(action="tag-move").one()
    assert refused.outcome == "refused"


def test_rollback_restores_the_earlier_digest(promoting, source_repo):
    app = promoting()
    first = stage(app, source_repo)
    _approve(app, first)
    work(app)
    sha = source_repo.commit({"app.txt": "version 2\n"}, "Version 2")
    second = stage(app, source_repo, sha=sha)
    _approve(app, second)
    work(app)
    assert _served(app, "production", "latest") == second.digest
    runtime = app.extensions["lockmaster"]
    with pytest.raises(Refused, match="never promoted"):
        rollback(runtime, "erin", "production", "acme/web", "sha256:" + "0" * 64)
    rollback(runtime, "erin", "production", "acme/web", first.digest, "bad release")
    work(app)
    assert _served(app, "production", "latest") == first.digest
    env = app.test_client().get("/api/v1/environments/production/acme/web").get_json()
    assert env["digest"] == first.digest
    assert env["history"][0]["kind"] == "rollback"
    assert env["history"][0]["replaced_digest"] == second.digest
    with pytest.raises(Refused, match="may not roll back"):
        rollback(runtime, "vic", "production", "acme/web", second.digest)


def test_n_approvals_and_a_finished_promotion_is_not_redone(promoting, source_repo):
    app = promoting(approvals=2)
    build = stage(app, source_repo)
    assert _approve(app, build, "carol").status == "pending"
    work(app)
    assert _served(app, "production", build.digest) is None
    assert _approve(app, build, "dave").status == "approved"
    work(app)
    done = _promotions(app)[0]
    assert done.status == "promoted" and len(done.approvals) == 2
    enqueue_promotion(app.extensions["lockmaster"], done.id)
    work(app)
    again = _promotions(app)[0]
    assert (again.status, again.finished_at) == ("promoted", done.finished_at)
    with pytest.raises(Refused, match="already in production, the last environment"):
        _approve(app, build, "erin")


def test_two_approvals_at_once_make_one_promotion(promoting, source_repo):
    app = promoting()
    build = stage(app, source_repo)
    barrier, errors = threading.Barrier(2), []

    def approve(who):
        barrier.wait()
        try:
            _approve(app, build, who)
        except Refused as exc:
            errors.append(exc)

    threads = [threading.Thread(target=approve, args=(who,)) for who in ("carol", "dave")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    queued = app.extensions["lockmaster"].queue("promotions").count
    work(app)
    promotions = _promotions(app)
    assert len(promotions) == 1 and promotions[0].status == "promoted"
    assert queued == 1
    assert errors == []
    assert {a.username for a in promotions[0].approvals} == {"carol", "dave"}


def test_environments_are_passed_in_order(promoting, source_repo, registry_prefix):
    app = promoting(registry={"url": REGISTRY_ADDR, "insecure": True,
                              "staging": f"{registry_prefix}/staging",
                              "production": f"{registry_prefix}/production",
                              "environments": {"qa": f"{registry_prefix}/qa"}},
                    environments=["staging", "qa", "production"])
    build = stage(app, source_repo)
    first = _approve(app, build)
    work(app)
    assert _served(app, "qa", build.digest) == build.digest
    assert _served(app, "production", build.digest) is None
    second = _approve(app, build)
    work(app)
    assert second.promotion_id != first.promotion_id
    assert _served(app, "production", build.digest) == build.digest
    hops = [(p.from_environment, p.to_environment) for p in _promotions(app)]
    assert hops == [("staging", "qa"), ("qa", "production")]


def test_refusals_are_audited_and_change_nothing(promoting, source_repo):
    app = promoting()
    build = stage(app, source_repo)
    runtime = app.extensions["lockmaster"]
    with pytest.raises(Refused, match="four-eyes"):
        _approve(app, build, "bob")
    with pytest.raises(Refused, match="is not this build's digest"):
        decide(runtime, build.id, "carol", "approve", "sha256:" + "f" * 64)
    with pytest.raises(Refused, match="may not approve"):
        _approve(app, build, "vic")
    assert _promotions(app) == []
    with runtime.db.session() as session:
        outcomes = [e.outcome for e in session.query(AuditEvent).filter_by(action="approve")]
    assert outcomes == ["refused"] * 3


def test_an_allowed_self_approval_is_marked_in_the_audit_log(promoting, source_repo):
    app = promoting(allow_self_approval=True)
    build = stage(app, source_repo)
    assert _approve(app, build, "bob").self_approval is True
    work(app)
    promotion = _promotions(app)[0]
    assert promotion.status == "promoted" and promotion.approvals[0].self_approval
    with app.extensions["lockmaster"].db.session() as session:
        approval = session.query(AuditEvent).filter_by(action="approve").one()
    assert approval.detail == "self-approval allowed by promotion.allow_self_approval"
