"""A gate that breaks gives an `error` result, which blocks unless fail_closed is off."""

from builder.checks import base
from builder.checks.base import CheckResult, CheckStatus, GateError, worst
from builder.checks.runner import run_all


def test_a_broken_gate_is_an_error_that_blocks_by_default(monkeypatch):
    def broken(_context):
        raise RuntimeError("tool crashed")

    def missing_tool(_context):
        raise GateError("syft is not installed")

    monkeypatch.setitem(base._GATES, "broken", broken)
    monkeypatch.setitem(base._GATES, "missing", missing_tool)
    crashed, unavailable = run_all(None, ["broken", "missing"])
    assert crashed.status == unavailable.status == CheckStatus.ERROR
    assert "the broken gate broke: RuntimeError('tool crashed')" in crashed.summary
    assert unavailable.summary == "the missing gate could not run: syft is not installed"
    assert crashed.blocks(fail_closed=True) and not crashed.blocks(fail_closed=False)


def test_only_fail_blocks_and_the_worst_status_wins():
    assert CheckResult("size", CheckStatus.FAIL, "").blocks(fail_closed=False)
    assert not CheckResult("size", CheckStatus.WARN, "").blocks(fail_closed=True)
    assert worst([CheckStatus.PASS, CheckStatus.WARN]) == CheckStatus.WARN
    assert worst([]) == CheckStatus.PASS


def test_a_tests_file_that_links_outside_the_repository_is_not_read(tmp_path):
    from builder.checks.context import GateContext
    from config.gates import ChecksPolicy

    (tmp_path / "repo" / ".lockmaster").mkdir(parents=True)
    (tmp_path / "secret.yml").write_text("tests: []\n")
    (tmp_path / "repo" / ".lockmaster" / "tests.yml").symlink_to(tmp_path / "secret.yml")
    context = GateContext(build_id="b", image_id="i", archive=None, policy=ChecksPolicy(),
                          workspace=tmp_path / "repo", dockerfile=tmp_path / "repo" / "Dockerfile",
                          docker=None, advisories=lambda names: [])
    [result] = run_all(context, ["tests"])
    assert result.status == CheckStatus.FAIL
    assert "'.lockmaster/tests.yml' is a symbolic link" in result.summary


def test_the_verdict_names_every_blocking_result():
    from builder.checks.runner import verdict

    results = [CheckResult("size", CheckStatus.FAIL, "too big"),
               CheckResult("sbom", CheckStatus.ERROR, "syft crashed"),
               CheckResult("tests", CheckStatus.FAIL, "exit 3", test="smoke"),
               CheckResult("policy", CheckStatus.WARN, "root")]
    closed = verdict(results, fail_closed=True)
    assert closed.rejected
    assert closed.reason == ("rejected by the gates: size: too big; sbom: syft crashed; "
                             "tests[smoke]: exit 3")
    opened = verdict(results[1:2] + results[3:], fail_closed=False)
    assert not opened.rejected and opened.reason is None
