"""Regression tests gate: the repository's own tests, run against the built image."""

from __future__ import annotations

import time

from builder.checks import patterns, probes
from builder.checks.base import CheckResult, CheckStatus, gate
from builder.checks.context import GateContext
from builder.checks.structure import check_structure
from builder.checks.testfile import RegressionTest, parse_tests_file
from builder.repofiles import RepositoryFileError, read_text
from config import ConfigError


@gate("tests")
def run(context: GateContext) -> list[CheckResult]:
    """One result per declared test (and one about anything the file may not do)."""
    options = context.policy.tests
    try:
        text = read_text(context.workspace, options["file"])
    except RepositoryFileError as exc:
        return [CheckResult("tests", CheckStatus.FAIL, f"the tests file was not read: {exc}")]
    if text is None:
        return [CheckResult("tests", CheckStatus.PASS, f"no tests declared ({options['file']} "
                                                       "not in the commit)")]
    try:
        declared = parse_tests_file(text, options["file"])
    except ConfigError as exc:
        return [CheckResult("tests", CheckStatus.FAIL, f"the tests file is invalid: {exc}")]
    results = []
    if declared.ignored:
        results.append(CheckResult(
            "tests", CheckStatus.WARN,
            f"{options['file']} tried to change server gates with {', '.join(declared.ignored)}; "
            "ignored: gates are set only in the server's lockmaster.yml",
            {"ignored": declared.ignored}))
    limits = probes.Limits(options["memory_mb"], options["cpus"],
                           {context.container_label: context.build_id})
    for test in declared.tests:
        started = time.monotonic()
        result = _run_one(context, test, limits)
        result.duration_ms = int((time.monotonic() - started) * 1000)
        results.append(result)
    return results or [CheckResult("tests", CheckStatus.PASS, "the tests file declares no tests")]


def _run_one(context: GateContext, test: RegressionTest, limits: probes.Limits) -> CheckResult:
    try:
        for pattern in _patterns(test):
            patterns.compiled(pattern, multiline=pattern not in _whole_value_patterns(test))
    except patterns.PatternError as exc:
        return _result(test, False, str(exc), "")
    ceiling = context.policy.tests["timeout_seconds"]
    timeout = min(test.timeout_seconds or ceiling, ceiling)
    if test.kind == "structure":
        problems = check_structure(context.archive, test.spec)
        return _result(test, not problems, "; ".join(problems) or "structure as declared", "")
    if test.kind == "command":
        ran = probes.run_command(context.docker, context.image_id, probes.argv(test.spec),
                                 limits, timeout)
        return _judge_command(test, ran, timeout)
    return _service(context, test, limits, timeout)


def _judge_command(test: RegressionTest, ran: probes.Run, timeout: float) -> CheckResult:
    problems = []
    if ran.timed_out:
        problems.append(f"did not finish within {timeout:g} s")
    elif ran.exit_code != test.exit_code:
        problems.append(f"exit code {ran.exit_code}, expected {test.exit_code}")
    problems += [f"output does not match /{p}/" for p in test.output
                 if not patterns.search(p, ran.output)]
    problems += [f"output matches /{p}/" for p in test.output_not
                 if patterns.search(p, ran.output)]
    return _result(test, not problems, "; ".join(problems) or "as expected", ran.output)


def _service(context: GateContext, test: RegressionTest, limits, timeout: float) -> CheckResult:
    spec, deadline = test.spec, time.monotonic() + timeout
    requests = spec.get("requests") or [{"path": "/"}]
    service = probes.start_service(context.docker, context.image_id, spec.get("command"), limits)
    try:
        if spec.get("wait", "port") == "healthy":
            state = probes.wait_healthy(service, deadline)
            if state != "healthy":
                return _result(test, False, f"not healthy within {timeout:g} s ({state})",
                               _logs(service))
        script = probes.probe_script(spec["port"], [r.get("path", "/") for r in requests],
                                     max(1.0, deadline - time.monotonic()),
                                     spec.get("wait", "port") == "port")
        ran = probes.run_command(context.docker, context.policy.tests["probe_image"],
                                 ["/bin/sh", "-c", script], limits,
                                 max(5.0, deadline - time.monotonic()) + 6 * len(requests),
                                 network_mode=f"container:{service.id}")
        return _judge_service(test, requests, ran, timeout, _logs(service))
    finally:
        probes.remove_labelled(context.docker, limits.label)


def _judge_service(test, requests: list[dict], ran: probes.Run, timeout: float,
                   logs: str) -> CheckResult:
    listening, answers = probes.parse_probe(ran.output)
    if not listening or ran.timed_out:
        return _result(test, False, f"port {test.spec['port']} not listening within "
                                    f"{timeout:g} s", logs)
    problems = []
    for request, answer in zip(requests, answers + [{}] * len(requests), strict=False):
        path, want = request.get("path", "/"), request.get("status", 200)
        if answer.get("status") != want:
            problems.append(f"GET {path}: status {answer.get('status')}, expected {want}")
        elif request.get("body") and not patterns.search(request["body"],
                                                         answer.get("body", "")):
            problems.append(f"GET {path}: body does not match /{request['body']}/")
    return _result(test, not problems, "; ".join(problems) or "answered as expected",
                   ran.output + "\n--- service log ---\n" + logs)


def _patterns(test: RegressionTest) -> list[str]:
    """Every regular expression a test declares (each is checked before the test runs)."""
    spec = test.spec if isinstance(test.spec, dict) else {}
    found = [*test.output, *test.output_not, *(spec.get("contents") or {}).values()]
    found += [r["body"] for r in spec.get("requests") or [] if isinstance(r, dict) and
              r.get("body")]
    return [str(p) for p in found] + _whole_value_patterns(test)


def _whole_value_patterns(test: RegressionTest) -> list[str]:
    spec = test.spec if isinstance(test.spec, dict) else {}
    return [str(v) for key in ("env", "labels") for v in (spec.get(key) or {}).values()]


def _logs(container) -> str:
    try:
        return container.logs().decode(errors="replace")[-probes.MAX_OUTPUT:]
    except Exception:
        return ""


def _result(test: RegressionTest, ok: bool, message: str, output: str) -> CheckResult:
    status = CheckStatus.PASS if ok else CheckStatus.FAIL
    return CheckResult("tests", status, f"{test.kind} test '{test.name}': {message}",
                       {"kind": test.kind, "output": output}, test=test.name)
