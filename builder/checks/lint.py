"""Dockerfile lint gate: hadolint's findings, judged by severity, minus the ignored rules."""

from __future__ import annotations

import json

from builder.checks.base import CheckResult, CheckStatus, GateError, gate
from builder.checks.context import GateContext
from builder.checks.tools import run_tool
from config.gates import LINT_LEVELS

HADOLINT_TIMEOUT_SECONDS = 120


@gate("lint")
def run(context: GateContext) -> CheckResult:
    """Lint the build's Dockerfile with hadolint under the server's rules only."""
    empty_config = context.archive.path.with_name("hadolint.yaml")
    empty_config.write_text("{}\n")
    # The server's policy decides: no repository config file, no inline ignore pragmas.
    done = run_tool(["hadolint", "--config", str(empty_config), "--format", "json",
                     "--no-fail", "--disable-ignore-pragma", str(context.dockerfile)],
                    HADOLINT_TIMEOUT_SECONDS, cwd=empty_config.parent)
    try:
        findings = json.loads(done.stdout or "[]")
    except ValueError as exc:
        raise GateError(f"hadolint gave no JSON (exit {done.returncode}): "
                        f"{done.stderr.strip()[-300:]}") from exc
    return judge(findings, context.policy.lint)


def judge(findings: list[dict], options: dict) -> CheckResult:
    """The lint result for hadolint's JSON findings under fail_on and the ignore list."""
    ignored = {entry.id: entry.reason for entry in options["ignore"]}
    kept = [_finding(f) for f in findings if f.get("code") not in ignored]
    skipped = sorted({f.get("code") for f in findings if f.get("code") in ignored})
    threshold = LINT_LEVELS.index(options["fail_on"])
    failing = [f for f in kept if LINT_LEVELS.index(f["level"]) <= threshold]
    status = CheckStatus.FAIL if failing else CheckStatus.WARN if kept else CheckStatus.PASS
    shown = failing or kept
    summary = ("no findings" if not kept else f"{len(kept)} finding(s), {len(failing)} at or "
               f"above {options['fail_on']}: " + "; ".join(
                   f"{f['code']} line {f['line']}: {f['message']}" for f in shown[:5]))
    if skipped:
        summary += f" (ignored by policy: {', '.join(skipped)})"
    return CheckResult("lint", status, summary, {
        "findings": kept, "ignored": [{"rule": r, "reason": ignored[r]} for r in skipped]})


def _finding(raw: dict) -> dict:
    level = raw.get("level", "error")
    return {"code": raw.get("code", "?"), "level": level if level in LINT_LEVELS else "error",
            "line": raw.get("line"), "message": raw.get("message", "")}
