"""Helpers for promotion tests: staged builds made straight in the registry, people, decisions."""

from __future__ import annotations

from auth.users import add_user, link
from builder.attest import sign_image
from devstack.gitpush import account_id
from devstack.services import REGISTRY_ADDR
from distribution.client import RegistryClient
from provenance.keystore import worker_signer
from record.models import Build, utcnow
from tests.support.ociimages import push_image, push_index
from tests.support.sourcerepo import SourceRepo

PASSWORD = "correct horse battery"


def add_people(app) -> None:
    """carol and dave approve acme/*, erin is an admin, vic a viewer; bob pushed everything.
    Each has their GitHub account id linked."""
    db = app.extensions["lockmaster"].db
    add_user(db, "carol", "approver", ["acme/*"], PASSWORD)
    add_user(db, "dave", "approver", ["acme/*"], PASSWORD)
    add_user(db, "erin", "admin", [], PASSWORD)
    add_user(db, "vic", "viewer", [], PASSWORD)
    add_user(db, "bob", "approver", ["acme/*"], PASSWORD)
    for name in ("carol", "dave", "erin", "vic", "bob"):
        link(db, name, [("github-id", str(account_id(name)))])


def stage(app, source: SourceRepo, kind: str = "docker", ref: str = "refs/heads/main",
          sha: str | None = None, size: int = 1024, repository: str = "acme/web") -> Build:
    """Push an image of the given kind to staging and record it as a staged build of sha
    (of a repository whose image has its name)."""
    settings = app.extensions["lockmaster"].settings
    name = settings.registry.path("staging", repository)
    sha = sha or source.head
    if kind == "index":
        digest, _children = push_index(name, sha[:12])
    else:
        digest, _raw = push_image(name, sha[:12], oci=kind == "oci", size=size)
    commit = source.repo.commit(sha)
    build = Build(repository=repository, provider="github", ref=ref, commit_sha=sha,
                  commit_message=commit.message.strip(), commit_author=commit.author.name,
                  pusher="bob", pusher_accounts=[f"github:{account_id('bob')}"],
                  clone_url=str(source.path), dockerfile="Dockerfile",
                  context=".", status="staged", digest=digest, size=size,
                  image_repository=settings.registry.repository("staging", repository),
                  tags=[sha[:12]], history=[], created_at=utcnow(), finished_at=utcnow())
    with app.extensions["lockmaster"].db.session() as session:
        session.add(build)
    sign(app, build, name)
    return build


def sign(app, build: Build, name: str) -> dict:
    """Sign and attest a staged build's digest as the push stage does, and record it (straight
    to the registry, past any fault-injecting proxy the settings name)."""
    runtime = app.extensions["lockmaster"]
    registry = runtime.settings.registry
    proof = sign_image(runtime, build, runtime.settings.repository_named(build.repository),
                       name, f"{registry.url}/{name}", build.digest,
                       RegistryClient(f"http://{REGISTRY_ADDR}"), worker_signer(runtime.settings,
                                                                        runtime.db), [], None)
    with runtime.db.session() as session:
        session.get(Build, build.id).proof = build.proof = proof
    return proof
