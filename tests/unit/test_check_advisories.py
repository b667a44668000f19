"""OSV matching, severity, the fail_on threshold and the allow-list (plain rules)."""

from datetime import date

from builder.checks.base import CheckStatus
from builder.checks.osv import Package, match, severity_of
from builder.checks.vulnerabilities import judge, package_of
from config.gates import Exemption

HIGH_VECTOR = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N"  # 7.5
OPENSSL = Package("Debian", "openssl", "1:1.1.1n-0+deb11u3", "12", "openssl")


def record(ranges, ecosystem="Debian:12", name="openssl", **extra):
    """An OSV record affecting one package."""
    return {"id": "DSA-0001-1", "aliases": ["CVE-2026-0001"], "summary": "bad",
            "affected": [{"package": {"ecosystem": ecosystem, "name": name},
                          "ranges": [{"type": "ECOSYSTEM", "events": ranges}]}],
            **extra}


def test_a_version_inside_the_range_is_affected_with_its_fix():
    found = match(record([{"introduced": "0"}, {"fixed": "1:1.1.1n-0+deb11u5"}],
                         severity=[{"type": "CVSS_V3", "score": HIGH_VECTOR}]), OPENSSL)
    assert (found.id, found.severity, found.score) == ("DSA-0001-1", "high", 7.5)
    assert found.fixed == ["1:1.1.1n-0+deb11u5"]


def test_versions_outside_the_range_are_not_affected():
    assert match(record([{"introduced": "1:1.1.1o"}, {"fixed": "1:1.1.1p"}]), OPENSSL) is None
    assert match(record([{"introduced": "0"}, {"fixed": "1:1.1.1n-0+deb11u3"}]), OPENSSL) is None
    assert match(record([{"introduced": "0"}, {"last_affected": "1:1.1.1n-0+deb11u2"}]),
                 OPENSSL) is None
    assert match(record([{"introduced": "0"}], ecosystem="Debian:11"), OPENSSL) is None


def test_an_explicit_version_list_and_a_pypi_pre_release_range():
    requests = Package("PyPI", "Requests", "2.19.0")
    listed = record([], ecosystem="PyPI", name="requests")
    listed["affected"][0]["versions"] = ["2.19.0"]
    assert match(listed, requests) is not None
    before_rc = record([{"introduced": "0"}, {"fixed": "2.19.0rc1"}], ecosystem="PyPI",
                       name="requests")
    assert match(before_rc, requests) is None
    assert match(before_rc, Package("PyPI", "requests", "2.19.0b2")) is not None


def test_severity_from_the_database_when_there_is_no_vector():
    assert severity_of({"database_specific": {"severity": "MODERATE"}}) == ("medium", None)
    assert severity_of({"severity": [{"type": "CVSS_V3", "score": "garbage"}]}) == (
        "unknown", None)


def _finding():
    return match(record([{"introduced": "0"}, {"fixed": "1:1.1.1n-0+deb11u5"}],
                        severity=[{"type": "CVSS_V3", "score": HIGH_VECTOR}]), OPENSSL)


def test_fail_on_high_then_allowed_then_expired():
    options = {"fail_on": "high", "allow": ()}
    failed = judge([_finding()], options, date(2026, 6, 1))
    assert failed.status == CheckStatus.FAIL
    assert "1 high" in failed.summary and "1:1.1.1n-0+deb11u5" in failed.summary
    allow = (Exemption("CVE-2026-0001", "not reachable here", date(2026, 12, 31)),)
    allowed = judge([_finding()], {**options, "allow": allow}, date(2026, 6, 1))
    assert allowed.status == CheckStatus.PASS
    assert "DSA-0001-1 allowed: not reachable here (until 2026-12-31)" in allowed.summary
    expired = judge([_finding()], {**options, "allow": allow}, date(2027, 1, 1))
    assert expired.status == CheckStatus.FAIL
    assert "expired on 2026-12-31" in expired.summary


def test_findings_below_the_threshold_only_warn():
    result = judge([_finding()], {"fail_on": "critical", "allow": ()}, date(2026, 6, 1))
    assert result.status == CheckStatus.WARN


def test_sbom_components_become_osv_packages():
    deb = package_of({"name": "openssl", "version": "1:1.1.1n-0+deb11u3",
                      "purl": "pkg:deb/debian/openssl@1:1.1.1n-0%2Bdeb11u3?arch=amd64&"
                              "distro=debian-12&upstream=openssl"})
    assert deb == OPENSSL
    assert package_of({"name": "busybox", "version": "1.35.0",
                       "purl": "pkg:generic/busybox@1.35.0"}) is None
    apk = package_of({"name": "musl", "version": "1.2.4-r2",
                      "purl": "pkg:apk/alpine/musl@1.2.4-r2?distro=alpine-3.18.4"})
    assert (apk.ecosystem, apk.release) == ("Alpine", "3.18")
