"""The gates on an ordinary Debian image and on a corpus of real secrets; the layer cache."""

import json
import subprocess
import uuid

import pytest
from click.testing import CliRunner

from app import cli
from builder.checks.enginelayers import EngineImage
from builder.checks.layerstore import DatabaseLayerCache
from builder.checks.runner import run_all
from builder.checks.sbomlayers import identity
from builder.checks.tools import tool_path
from record.checks import LayerResult
from record.db import Database
from record.migrate import upgrade
from tests.support.gateimages import TEST_LABEL, gate_context, save
from tests.support.secretcorpus import write_corpus
from tests.support.sourcerepo import SourceRepo
from tests.support.stack import app_environ, post_github, repo_entry, work

DEBIAN_APP = """\
FROM {base}
RUN useradd --create-home app
COPY app.py /home/app/app.py
USER app
CMD ["python3", "/home/app/app.py"]
"""
WITH_A_PACKAGE = """\
FROM {base}
RUN useradd --create-home app
COPY hello.deb /tmp/hello.deb
RUN dpkg -i /tmp/hello.deb && rm /tmp/hello.deb
COPY app.py /home/app/app.py
"""


def _build(client, folder):
    image, _logs = client.images.build(path=str(folder), network_mode="none", rm=True,
                                       pull=False, labels={TEST_LABEL: uuid.uuid4().hex})
    return image.id


@pytest.mark.once
def test_each_secret_of_the_corpus_is_found_in_its_place_and_never_shown(
        docker_client, base_image, tmp_path):
    values = write_corpus(tmp_path / "src", base_image)
    image_id = _build(docker_client, tmp_path / "src")
    try:
        context = gate_context(docker_client, image_id,
                               save(docker_client, image_id, tmp_path / "image.tar"),
                               tmp_path / "src")
        [result] = run_all(context, ["secrets"])
    finally:
        docker_client.images.remove(image_id, force=True)
    assert result.status.value == "fail"
    below = len(docker_client.images.get(base_image).attrs["RootFS"]["Layers"]) - 1
    findings = result.details["findings"]
    found = {(f["kind"], f["path"], f.get("member")): f for f in findings if "path" in f}
    expected = [("private key", "/srv/keys/rsa.pem", None, 1, "COPY dir:"),
                ("private key", "/srv/keys/ec.pem", None, 1, "COPY dir:"),
                ("private key", "/srv/keys/id_ed25519", None, 1, "COPY dir:"),
                ("private key", "/tmp/deploy.pem", None, 2, "COPY file:"),
                ("GitHub token", "/home/app/.npmrc", None, 4, "COPY file:"),
                ("private key", "/srv/bundle.tar.gz", "config/deploy.pem", 5, "COPY multi:"),
                ("private key", "/srv/bundle.zip", "certs/ec.pem", 5, "COPY multi:")]
    for kind, path, member, layer, step in expected:
        finding = found.pop((kind, path, member))
        assert (finding["layer"], finding["step"][:len(step)]) == (below + layer, step), finding
    assert found == {}  # the public keys and the certificate are not secrets
    config = {(f["where"], f["kind"]) for f in findings if "path" not in f}
    assert {("ENV AWS_ACCESS_KEY_ID", "AWS access key id"),
            ("ENV AWS_SECRET_ACCESS_KEY", "AWS secret access key")} <= config
    deleted = next(f for f in result.details["findings"] if f.get("path") == "/tmp/deploy.pem")
    assert "deleted or replaced later" in deleted["where"]
    zipped = next(f for f in result.details["findings"] if f.get("member") == "certs/ec.pem")
    assert "inside the archive, as certs/ec.pem" in zipped["where"]
    shown = json.dumps(result.details) + result.summary
    for value in values.values():
        for line in value.splitlines():
            if "-----" not in line and len(line) > 8:
                assert line not in shown


@pytest.fixture(scope="module")
def packaged_image(docker_client, debian_base, tmp_path_factory):
    """The Debian base, a user, a local .deb installed with dpkg, an app file."""
    folder = tmp_path_factory.mktemp("deb")
    package = folder / "pkg"
    (package / "DEBIAN").mkdir(parents=True)
    (package / "DEBIAN" / "control").write_text(
        "Package: lockmaster-hello\nVersion: 1.0-1\nArchitecture: all\n"
        "Maintainer: Test <test@example.com>\nDescription: a local package\n")
    (package / "usr" / "share" / "hello").mkdir(parents=True)
    (package / "usr" / "share" / "hello" / "README").write_text("hello\n")
    src = folder / "src"
    src.mkdir()
    subprocess.run(["dpkg-deb", "--build", "--root-owner-group", str(package),
                    str(src / "hello.deb")], check=True, capture_output=True)
    (src / "app.py").write_text("print('hello')\n")
    (src / "Dockerfile").write_text(WITH_A_PACKAGE.format(base=debian_base))
    image_id = _build(docker_client, src)
    yield image_id, save(docker_client, image_id, folder / "image.tar"), src
    docker_client.images.remove(image_id, force=True)


@pytest.mark.once
def test_warm_layer_results_equal_a_cold_run_and_the_sbom_a_whole_image_scan(
        docker_client, packaged_image, tmp_path):
    image_id, _export, workspace = packaged_image
    archive = EngineImage.open(docker_client.images.get(image_id), tmp_path)
    url = f"sqlite:///{tmp_path / 'cache.db'}"
    upgrade(url)
    cache = DatabaseLayerCache(Database(url))
    gates = ["size", "secrets", "sbom"]
    cold = gate_context(docker_client, image_id, archive, workspace)
    cold.layer_cache = cache
    cold_results = {r.name: r for r in run_all(cold, gates)}
    assert all(r.status.value == "pass" for r in cold_results.values()), cold_results
    assert cold.scanned["size"] == [0, 1, 2, 3, 4]
    top = archive.diff_ids[3:]
    with Database(url).session() as session:  # the layers this commit made are new
        for row in session.query(LayerResult).filter(LayerResult.diff_id.in_(top)):
            session.delete(row)
    warm = gate_context(docker_client, image_id, archive, workspace)
    warm.layer_cache = cache
    warm_results = {r.name: r for r in run_all(warm, gates)}
    assert warm.scanned["size"] == [3, 4] and warm.scanned["paths"] == [3, 4]
    assert warm_results["size"].details["layers"] == cold_results["size"].details["layers"]
    assert warm_results["size"].details["layer_cache"] == {"scanned": 2, "reused": 3}
    assert warm_results["secrets"].details["findings"] == []
    merged = {identity(c) for c in warm.sbom()["components"]}
    assert merged == {identity(c) for c in cold.sbom()["components"]}
    assert ("library", "lockmaster-hello", "1.0-1",
            "pkg:deb/debian/lockmaster-hello@1.0-1?arch=all&distro=debian-12") in merged
    whole = subprocess.run(
        [tool_path("syft"), "scan", f"docker-archive:{_export.path}", "-q", "-o",
         "cyclonedx-json"], check=True, capture_output=True,
        env={"SYFT_CHECK_FOR_APP_UPDATE": "false", "PATH": "/usr/bin:/bin"}).stdout
    assert merged == {identity(c) for c in json.loads(whole)["components"]}


@pytest.mark.once
def test_a_debian_image_is_staged_and_its_base_layers_are_scanned_once_per_installation(
        make_app, tmp_path, debian_base, secret):
    web = SourceRepo.create(tmp_path / "src" / "web", debian_base)
    api = SourceRepo.create(tmp_path / "src" / "api", debian_base)
    for source, text in ((web, "print('web')\n"), (api, "print('api')\n")):
        source.commit({"Dockerfile": DEBIAN_APP.format(base=debian_base), "app.py": text},
                      "A Debian app")
    app = make_app([repo_entry(web), repo_entry(api, name="acme/api", image="acme/api")])
    client = app.test_client()
    builds = []
    for source, name in ((web, "acme/web"), (api, "acme/api")):
        response = post_github(client, source.payload(full_name=name), secret)
        assert response.status_code == 202, response.get_json()
        work(app)
        build_id = response.get_json()["builds"][0]["id"]
        builds.append(client.get(f"/api/v1/builds/{build_id}").get_json())
    for build in builds:
        assert build["status"] == "staged", build["error"]
        statuses = {c["name"]: c["status"] for c in build["checks"]}
        assert set(statuses.values()) <= {"pass", "warn"}, build["checks"]
        assert statuses["secrets"] == "pass"
    log = client.get(f"/api/v1/builds/{builds[1]['id']}/log").text
    assert "gates read 1 of 3 layers from the engine's layer folders (layers 2)" in log
    first, second = ({c["name"]: c["details"] for c in b["checks"]} for b in builds)
    assert first["size"]["layer_cache"] == {"scanned": 3, "reused": 0}
    # Another repository's build: the base and the useradd layer come from the cache.
    for gate in ("size", "secrets", "sbom"):
        assert second[gate]["layer_cache"] == {"scanned": 1, "reused": 2}, gate
    assert first["sbom"]["packages_by_type"] == second["sbom"]["packages_by_type"]
    sbom = client.get(f"/api/v1/builds/{builds[1]['id']}/sbom").get_json()
    assert {"curl", "openssl", "python3", "ca-certificates"} <= \
        {c["name"] for c in sbom["components"]}


def test_gc_keeps_only_the_most_recently_used_layer_results(make_app, source_repo):
    app = make_app([repo_entry(source_repo)], gc={"layer_cache_entries": 2})
    runtime = app.extensions["lockmaster"]
    cache = DatabaseLayerCache(runtime.db)
    for n in range(4):
        cache.put("size", f"sha256:{n:064x}", {"compressed": n})
    cache.put("size", f"sha256:{0:064x}", {"compressed": 0})  # used again: it stays
    shown = CliRunner().invoke(cli, ["gc"], env=app_environ(app))
    assert shown.exit_code == 0, shown.output
    assert "removed 2 layer results" in shown.output
    kept = cache.get("size", [f"sha256:{n:064x}" for n in range(4)])
    assert sorted(kept) == [f"sha256:{0:064x}", f"sha256:{3:064x}"]
