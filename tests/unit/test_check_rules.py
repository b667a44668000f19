"""Plain rules of the lint, policy and size gates, and the repository's tests file."""

import pytest

from builder.checks.base import CheckStatus
from builder.checks.lint import judge as judge_lint
from builder.checks.policy import judge as judge_policy
from builder.checks.size import growth_report
from builder.checks.testfile import parse_tests_file
from config import ConfigError
from config.gates import ChecksPolicy, Exemption

FINDINGS = [{"code": "DL3000", "level": "error", "line": 3, "message": "Use absolute WORKDIR"},
            {"code": "DL3007", "level": "warning", "line": 1, "message": "Using latest"}]


def test_lint_fails_at_its_threshold_and_skips_ignored_rules():
    options = ChecksPolicy().lint
    failed = judge_lint(FINDINGS, options)
    assert failed.status == CheckStatus.FAIL and "DL3000 line 3" in failed.summary
    ignored = judge_lint(FINDINGS, {**options, "ignore": (Exemption("DL3000", "legacy"),)})
    assert ignored.status == CheckStatus.WARN
    assert ignored.details["ignored"] == [{"rule": "DL3000", "reason": "legacy"}]
    assert judge_lint(FINDINGS[1:], {**options, "fail_on": "warning"}).status == \
        CheckStatus.FAIL


@pytest.mark.parametrize(("user", "setting", "status"), [
    ("", "fail", CheckStatus.FAIL), ("root", "warn", CheckStatus.WARN),
    ("0:0", "fail", CheckStatus.FAIL), ("", "off", CheckStatus.PASS),
    ("app", "fail", CheckStatus.PASS)])
def test_the_root_user_is_judged_per_config(user, setting, status):
    options = {**ChecksPolicy().policy, "non_root": setting, "base_digest": "off",
               "healthcheck": "off"}
    assert judge_policy({"User": user}, [], options).status == status


def test_labels_ports_base_pin_and_healthcheck():
    options = {**ChecksPolicy().policy, "non_root": "off", "require_labels": ("team",),
               "allowed_ports": ("8080",)}
    config = {"ExposedPorts": {"8080/tcp": {}, "22/tcp": {}}, "Labels": {}}
    result = judge_policy(config, ["busybox:latest", "base@sha256:" + "0" * 64], options)
    assert result.status == CheckStatus.FAIL
    for text in ("missing labels: team", "22/tcp", "not pinned by digest: busybox:latest",
                 "no HEALTHCHECK"):
        assert text in result.summary
    healthy = {"Labels": {"team": "web"}, "Healthcheck": {"Test": ["CMD", "true"]}}
    assert judge_policy(healthy, [], options).status == CheckStatus.PASS


def test_growth_names_the_steps_that_grew_most():
    before = {"build_id": "b1", "compressed": 1000,
              "layers": [{"step": "COPY a /a", "size": 900, "compressed": 900},
                         {"step": "RUN x", "size": 100, "compressed": 100}]}
    now = {"compressed": 1500, "layers": [{"step": "COPY a /a", "size": 900, "compressed": 900},
                                          {"step": "RUN x", "size": 600, "compressed": 600}]}
    report = growth_report(now, before, {"max_growth_percent": 20})
    assert report["over_limit"] and report["percent"] == 50.0
    assert "grew +50.0% since build b1 (limit 20%)" in report["text"]
    assert report["grew_most"] == [{"step": "RUN x", "bytes": 500}]
    assert growth_report(now, None, {"max_growth_percent": 20})["over_limit"] is False


def test_a_tests_file_cannot_change_server_gates():
    text = ("checks:\n  size: {enabled: false}\nsecrets: off\n"
            "tests:\n  - name: ok\n    command: [\"true\"]\n")
    parsed = parse_tests_file(text, ".lockmaster/tests.yml")
    assert parsed.ignored == ["'checks' (line 1)", "'secrets' (line 3)"]
    assert [t.name for t in parsed.tests] == ["ok"]


@pytest.mark.parametrize(("text", "message"), [
    ("tests:\n  - name: x\n", r"tests\[0\] needs exactly one of command, structure, service"),
    ("tests:\n  - service: {port: 70000}\n", r"'port' in tests\[0\].service must be a TCP"),
    ("tests:\n  - structure: {exist: [/a]}\n", r"line 2: unknown key 'exist'"),
    ("tests: [1, 2\n", "is not valid YAML"),
])
def test_a_broken_tests_file_is_named(text, message):
    with pytest.raises(ConfigError, match=message):
        parse_tests_file(text, ".lockmaster/tests.yml")
