"""The `checks:` policy in lockmaster.yml: defaults, per-repository overrides, mistakes."""

from datetime import date

import pytest

from config import ConfigError, parse_config

BASE = """\
repositories:
  - name: acme/web
    provider: github
    secret_env: ACME_WEB_SECRET
"""


def _policy(text: str):
    return parse_config(text, "lockmaster.yml")[1][0].checks


def test_every_gate_runs_by_default_and_errors_block():
    policy = _policy(BASE)
    assert policy.enabled == {"size", "lint", "sbom", "vulnerabilities", "secrets", "policy",
                              "tests"}
    assert policy.fail_closed is True
    assert policy.vulnerabilities["fail_on"] == "high"


def test_repository_overrides_go_over_the_server_defaults():
    text = BASE + """\
    checks:
      size: {max_mb: 50}
      lint:
        ignore: [{id: DL3007, reason: the base image is built here}]
      vulnerabilities:
        allow: [{id: CVE-2026-1, reason: not reachable, expires: 2027-01-31}]
checks:
  size: {max_mb: 200, max_growth_percent: 10, on_growth: warn}
  policy: {non_root: fail, require_labels: [team]}
  sbom: {enabled: false}
"""
    policy = _policy(text)
    assert policy.size == {"max_mb": 50.0, "max_uncompressed_mb": None,
                           "max_growth_percent": 10.0, "on_growth": "warn"}
    assert policy.policy["non_root"] == "fail" and policy.policy["require_labels"] == ("team",)
    assert policy.lint["ignore"][0].id == "DL3007"
    assert policy.vulnerabilities["allow"][0].expires == date(2027, 1, 31)
    assert "sbom" not in policy.enabled


@pytest.mark.parametrize(("snippet", "message"), [
    ("checks:\n  size: {max_megabytes: 5}\n",
     r"line 6: unknown key 'max_megabytes' in checks.size"),
    ("checks:\n  sizes: {}\n", r"line 6: unknown key 'sizes' in checks "),
    ("checks:\n  vulnerabilities: {fail_on: severe}\n",
     r"'fail_on' in checks.vulnerabilities must be one of low, medium, high, critical"),
    ("checks:\n  size: {max_mb: -1}\n", r"'max_mb' in checks.size must be a number of at least 0"),
    ("checks:\n  vulnerabilities:\n    allow: [{id: X, expires: 2027-01-01}]\n",
     r"checks.vulnerabilities.allow\[0\] needs 'reason'"),
    ("checks:\n  vulnerabilities:\n    allow: [{id: X, reason: y, expires: soon}]\n",
     r"'expires' .* must be a date written as YYYY-MM-DD, got 'soon'"),
    ("checks:\n  lint: {enabled: maybe}\n", r"'enabled' in checks.lint must be a bool"),
])
def test_a_wrong_checks_setting_is_a_start_up_error_naming_the_line(snippet, message):
    with pytest.raises(ConfigError, match=message):
        parse_config(BASE + snippet, "lockmaster.yml")


def test_a_wrong_repository_override_names_the_repository():
    text = BASE + "    checks:\n      tests: {timeout: 5}\n"
    with pytest.raises(ConfigError, match=r"line 6: unknown key 'timeout' in "
                                          r"repositories\[0\].checks.tests"):
        parse_config(text, "lockmaster.yml")
