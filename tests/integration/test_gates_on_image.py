"""The gates on real images: real dockerd, syft, hadolint and the advisory database."""

import json
import zipfile
from dataclasses import replace
from datetime import date, timedelta

import pytest
import yaml
from click.testing import CliRunner

from app import cli
from builder.checks.base import CheckStatus
from builder.checks.record import advisories_lookup
from builder.checks.runner import run_all
from config.gates import ChecksPolicy, Exemption
from record.db import Database
from record.migrate import upgrade
from tests.support.gateimages import (
    AWS_KEY_ID,
    DIST_INFO,
    PRIVATE_KEY,
    build_image,
    gate_context,
    packaged_files,
    save,
)

HIGH = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N"
DOCKERFILE = """\
FROM {base}
COPY id_rsa /root/.ssh/id_rsa
COPY rootfs/ /
RUN rm /root/.ssh/id_rsa
ENV AWS_ACCESS_KEY_ID={key} APP_MODE=test
WORKDIR app
COPY app.txt /app/app.txt
CMD ["cat", "/app/app.txt"]
"""


@pytest.fixture(scope="module")
def image(docker_client, base_image, tmp_path_factory):
    """One image with packages, a deleted private key and a key in ENV; exported once."""
    folder = tmp_path_factory.mktemp("gates")
    image_id = build_image(docker_client, folder / "src",
                           DOCKERFILE.format(base=base_image, key=AWS_KEY_ID),
                           {"id_rsa": PRIVATE_KEY, "app.txt": "version 7\n", **packaged_files()})
    archive = save(docker_client, image_id, folder / "image.tar")
    yield image_id, archive, folder / "src"
    docker_client.images.remove(image_id, force=True)


def _context(docker_client, image, **policy):
    image_id, archive, workspace = image
    return gate_context(docker_client, image_id, archive, workspace, **policy)


def _record(advisory_id, ecosystem, name, events, **extra):
    return {"id": advisory_id, "modified": "2026-01-01T00:00:00Z",
            "affected": [{"package": {"ecosystem": ecosystem, "name": name},
                          "ranges": [{"type": "ECOSYSTEM", "events": events}]}], **extra}


RECORDS = [
    _record("DSA-9001-1", "Debian:12", "openssl",
            [{"introduced": "0"}, {"fixed": "1:1.1.1n-0+deb11u5"}],
            aliases=["CVE-2026-9001"], severity=[{"type": "CVSS_V3", "score": HIGH}]),
    _record("DSA-9003-1", "Debian:12", "openssl",
            [{"introduced": "1:1.1.1o"}, {"fixed": "1:1.1.1p"}],
            severity=[{"type": "CVSS_V3", "score": HIGH}]),
    _record("PYSEC-9002", "PyPI", "requests", [{"introduced": "0"}, {"fixed": "2.19.0rc1"}],
            severity=[{"type": "CVSS_V3", "score": HIGH}]),
]


@pytest.fixture
def advisories(tmp_path):
    """An empty database and a way to run `lockmaster advisories import` against it."""
    (tmp_path / "lockmaster.yml").write_text("repositories: []\n")
    env = {"LOCKMASTER_CONFIG": str(tmp_path / "lockmaster.yml"),
           "LOCKMASTER_DATA_DIR": str(tmp_path / "var")}
    url = f"sqlite:///{tmp_path / 'var' / 'lockmaster.db'}"
    upgrade(url)

    def run_import(path):
        return CliRunner().invoke(cli, ["advisories", "import", str(path)], env=env)

    return Database(url), run_import


def _write(folder, records):
    folder.mkdir(exist_ok=True)
    for record in records:
        (folder / f"{record['id']}.json").write_text(json.dumps(record))
    return folder


def test_the_sbom_lists_the_debian_package_and_the_python_dist_info(docker_client, image):
    context = _context(docker_client, image)
    [result] = run_all(context, ["sbom"])
    assert result.status == CheckStatus.PASS, result.summary
    assert result.details["packages_by_type"]["deb"] == 1
    assert result.details["packages_by_type"]["python"] == 1
    components = {c["name"]: c for c in json.loads(context.artifacts["sbom"])["components"]}
    assert components["openssl"]["version"] == "1:1.1.1n-0+deb11u3"
    assert components["requests"]["version"] == "2.19.0"
    assert "deb: 1" in result.summary and "python: 1" in result.summary


def test_an_advisory_fails_at_high_until_allowed_and_again_once_expired(docker_client, image,
                                                                        advisories, tmp_path):
    db, run_import = advisories
    done = run_import(_write(tmp_path / "osv", RECORDS))
    assert done.exit_code == 0, done.output
    assert "imported 3 advisories" in done.output and "3 new" in done.output
    options = {"fail_on": "high", "allow": ()}

    def judge(**extra):
        context = _context(docker_client, image, vulnerabilities={**options, **extra})
        context.advisories = advisories_lookup(db)
        [result] = run_all(context, ["vulnerabilities"])
        return result

    failed = judge()
    assert failed.status == CheckStatus.FAIL, failed.summary
    # Outside their ranges: the epoch-ordered Debian range and the pre-release PyPI range.
    assert [f["id"] for f in failed.details["findings"]] == ["DSA-9001-1"]
    assert "1 high" in failed.summary and "1:1.1.1n-0+deb11u5" in failed.summary

    later = date.today() + timedelta(days=30)
    allowed = judge(allow=(Exemption("CVE-2026-9001", "not reachable in this image", later),))
    assert allowed.status == CheckStatus.PASS
    assert f"DSA-9001-1 allowed: not reachable in this image (until {later})" in allowed.summary

    earlier = date.today() - timedelta(days=1)
    expired = judge(allow=(Exemption("CVE-2026-9001", "not reachable", earlier),))
    assert expired.status == CheckStatus.FAIL
    assert f"allow-list entry for CVE-2026-9001 expired on {earlier}" in expired.summary

    fixed_earlier = _record("DSA-9001-1", "Debian:12", "openssl",
                            [{"introduced": "0"}, {"fixed": "1:1.1.1n-0+deb11u2"}])
    with zipfile.ZipFile(tmp_path / "update.zip", "w") as archive:
        archive.writestr("DSA-9001-1.json", json.dumps(fixed_earlier))
    again = run_import(tmp_path / "update.zip")
    assert "0 new, 1 updated" in again.output, again.output
    assert judge().status == CheckStatus.PASS


@pytest.mark.parametrize(("content", "message"), [
    ("{not json", "is not valid JSON"),
    ('{"summary": "no id"}', "is not an OSV record (it has no 'id')"),
])
def test_a_bad_advisory_export_is_refused_and_nothing_is_imported(advisories, tmp_path,
                                                                  content, message):
    db, run_import = advisories
    folder = _write(tmp_path / "osv", RECORDS[:1])
    (folder / "zz-broken.json").write_text(content)
    done = run_import(folder)
    assert done.exit_code != 0
    assert message in done.output and "zz-broken.json" in done.output
    assert "nothing was imported" in done.output
    assert advisories_lookup(db)([("Debian", "openssl")]) == []
    not_an_export = tmp_path / "notes.txt"
    not_an_export.write_text("hello")
    refused = run_import(not_an_export)
    assert refused.exit_code != 0 and "neither a folder nor a zip file" in refused.output


def test_secrets_in_a_deleted_file_and_in_env_are_found_and_masked(docker_client, image):
    context = _context(docker_client, image)
    [result] = run_all(context, ["secrets"])
    assert result.status == CheckStatus.FAIL
    findings = result.details["findings"]
    key = next(f for f in findings if f["kind"] == "private key")
    assert key["path"] == "/root/.ssh/id_rsa"
    assert "COPY" in key["step"] and "deleted or replaced later" in key["where"]
    assert any(f["where"] == "ENV AWS_ACCESS_KEY_ID" for f in findings)
    shown = json.dumps(findings) + result.summary
    assert AWS_KEY_ID not in shown and "MIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeL" \
        not in shown
    assert AWS_KEY_ID in context.secrets  # kept in memory only, for the masker


@pytest.mark.parametrize(("setting", "status"), [("fail", CheckStatus.FAIL),
                                                 ("warn", CheckStatus.WARN),
                                                 ("off", CheckStatus.PASS)])
def test_a_root_user_is_judged_per_config(docker_client, image, setting, status):
    policy = {**ChecksPolicy().policy, "non_root": setting, "base_digest": "off",
              "healthcheck": "off"}
    [result] = run_all(_context(docker_client, image, policy=policy), ["policy"])
    assert result.status == status
    if setting != "off":
        assert "runs as root" in result.summary


def test_a_hadolint_error_fails_lint_with_the_rule_id(docker_client, image):
    context = _context(docker_client, image)
    [result] = run_all(context, ["lint"])
    assert result.status == CheckStatus.FAIL
    assert "DL3000" in result.summary
    error = next(f for f in result.details["findings"] if f["code"] == "DL3000")
    assert (error["level"], error["line"]) == ("error", 6)
    ignore = (Exemption("DL3000", "relative on purpose"),)
    [ignored] = run_all(replace(context, policy=replace(
        context.policy, lint={"fail_on": "error", "ignore": ignore})), ["lint"])
    assert ignored.status != CheckStatus.FAIL and "ignored by policy: DL3000" in ignored.summary


def test_structure_and_command_tests_of_the_repository(docker_client, image):
    workspace = image[2]
    tests = {"tests": [
        {"name": "layout", "structure": {
            "exists": ["/app/app.txt", f"{DIST_INFO}/METADATA"], "absent": ["/root/.ssh/id_rsa"],
            "contents": {"/app/app.txt": r"version \d"}, "env": {"APP_MODE": "test"},
            "workdir": "/app"}},
        {"name": "wrong layout", "structure": {"exists": ["/nope"], "env": {"APP_MODE": "prod"}}},
        {"name": "prints version", "command": "cat /app/app.txt", "output": [r"^version 7$"]},
        {"name": "no network", "command": "ls /sys/class/net", "output": ["^lo$"],
         "output_not": ["eth"]},
    ]}
    (workspace / ".lockmaster").mkdir(exist_ok=True)
    (workspace / ".lockmaster" / "tests.yml").write_text(yaml.safe_dump(tests))
    context = _context(docker_client, image)
    results = run_all(context, ["tests"])
    by_test = {r.test: r for r in results}
    assert by_test["layout"].status == CheckStatus.PASS, by_test["layout"].summary
    wrong = by_test["wrong layout"]
    assert wrong.status == CheckStatus.FAIL
    assert "/nope does not exist" in wrong.summary and "env APP_MODE is 'test'" in wrong.summary
    assert by_test["prints version"].status == CheckStatus.PASS
    assert by_test["prints version"].details["output"] == "version 7\n"
    assert by_test["no network"].status == CheckStatus.PASS, by_test["no network"].summary
    assert _containers_of(docker_client, context) == []


def _containers_of(docker_client, context):
    return docker_client.containers.list(all=True, filters={
        "label": f"{context.container_label}={context.build_id}"})


def test_service_tests_probe_the_image_over_its_own_loopback(docker_client, base_image,
                                                             tmp_path):
    workspace = tmp_path / "svc"
    image_id = build_image(docker_client, workspace, SERVICE_DOCKERFILE.format(base=base_image),
                           {".lockmaster/tests.yml": yaml.safe_dump(SERVICE_TESTS)})
    try:
        context = gate_context(docker_client, image_id, save(docker_client, image_id,
                                                             tmp_path / "svc.tar"), workspace)
        by_test = {r.test: r for r in run_all(context, ["tests"])}
    finally:
        docker_client.images.remove(image_id, force=True)
    serves = by_test["serves http"]
    assert serves.status == CheckStatus.PASS, serves.summary + serves.details["output"]
    silent = by_test["never listens"]
    assert silent.status == CheckStatus.FAIL
    assert "port 9999 not listening within 3 s" in silent.summary
    assert silent.duration_ms < 15_000
    assert by_test["healthy"].status == CheckStatus.PASS, by_test["healthy"].summary
    assert "not healthy within 3 s" in by_test["never healthy"].summary
    wrong = by_test["wrong answer"]
    assert wrong.status == CheckStatus.FAIL
    assert "GET /: body does not match /goodbye/" in wrong.summary
    assert "GET /missing: status 404, expected 200" in wrong.summary
    assert _containers_of(docker_client, context) == []


SERVICE_DOCKERFILE = """FROM {base}
RUN mkdir -p /www && echo "hello from httpd" > /www/index.html
EXPOSE 8080
HEALTHCHECK --interval=1s --timeout=3s CMD wget -q -O /dev/null http://127.0.0.1:8080/ || exit 1
CMD ["httpd", "-f", "-p", "8080", "-h", "/www"]
"""
SERVICE_TESTS = {"tests": [
    {"name": "serves http", "service": {"port": 8080, "requests": [
        {"path": "/", "status": 200, "body": "hello from httpd"},
        {"path": "/missing", "status": 404}]}},
    {"name": "healthy", "service": {"port": 8080, "wait": "healthy",
                                    "requests": [{"path": "/", "body": "hello"}]}},
    {"name": "never healthy", "timeout_seconds": 3,
     "service": {"port": 8080, "wait": "healthy", "command": "sleep 60"}},
    {"name": "never listens", "timeout_seconds": 3,
     "service": {"port": 9999, "command": "sleep 60"}},
    {"name": "wrong answer", "service": {"port": 8080, "requests": [
        {"path": "/", "body": "goodbye"}, {"path": "/missing"}]}},
]}


@pytest.mark.parametrize(("on_growth", "status"), [("fail", CheckStatus.FAIL),
                                                   ("warn", CheckStatus.WARN),
                                                   ("off", CheckStatus.PASS)])
def test_growth_over_the_limit_has_the_configured_outcome(docker_client, image, on_growth,
                                                          status):
    context = _context(docker_client, image, size={**ChecksPolicy().size,
                                                   "max_growth_percent": 5.0,
                                                   "on_growth": on_growth})
    context.previous = {"build_id": "earlier", "compressed": 1000, "layers": []}
    [result] = run_all(context, ["size"])
    assert result.status == status
    assert result.details["growth"]["over_limit"] is True
    assert "since build earlier (limit 5%)" in result.summary
