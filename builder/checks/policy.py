"""Image policy gate: user, base image pin, labels, ports and healthcheck of the image."""

from __future__ import annotations

import re

from builder.checks.base import CheckResult, CheckStatus, gate, worst
from builder.checks.context import GateContext

_FROM = re.compile(r"^\s*FROM\s+(?:--\S+\s+)*(\S+)", re.IGNORECASE | re.MULTILINE)
_ROOT_USERS = {"", "root", "0"}


@gate("policy")
def run(context: GateContext) -> CheckResult:
    """Check the built image's config against the repository's image policy."""
    config = context.archive.config.get("config") or {}
    return judge(config, _base_images(context.dockerfile_text()), context.policy.policy)


def judge(config: dict, bases: list[str], options: dict) -> CheckResult:
    """The policy result for an image config and its Dockerfile's base images (a plain rule)."""
    findings = []

    def expect(ok: bool, outcome: str, rule: str, message: str) -> None:
        if outcome != "off":
            findings.append({"rule": rule, "status": "pass" if ok else outcome,
                             "message": message})

    user = (config.get("User") or "").split(":")[0]
    expect(user not in _ROOT_USERS, options["non_root"], "non_root",
           f"runs as user '{user}'" if user not in _ROOT_USERS else "runs as root (no USER)")
    unpinned = [b for b in bases if "@sha256:" not in b]
    expect(not unpinned, options["base_digest"], "base_digest",
           "base images pinned by digest" if not unpinned
           else f"base image not pinned by digest: {', '.join(unpinned)}")
    labels = config.get("Labels") or {}
    missing = [name for name in options["require_labels"] if not labels.get(name)]
    expect(not missing, "fail" if options["require_labels"] else "off", "require_labels",
           f"missing labels: {', '.join(missing)}" if missing else "required labels present")
    if options["allowed_ports"] is not None:
        allowed = {_port(p) for p in options["allowed_ports"]}
        extra = sorted(p for p in config.get("ExposedPorts") or {} if _port(p) not in allowed)
        expect(not extra, "fail", "allowed_ports",
               f"exposes ports not allowed: {', '.join(extra)}" if extra else "ports allowed")
    health = (config.get("Healthcheck") or {}).get("Test") or []
    has_health = bool(health) and health[0] != "NONE"
    expect(has_health, options["healthcheck"], "healthcheck",
           "HEALTHCHECK present" if has_health else "no HEALTHCHECK")
    status = worst([CheckStatus(f["status"]) for f in findings])
    bad = [f["message"] for f in findings if f["status"] != "pass"]
    return CheckResult("policy", status, "; ".join(bad) or "all image policy rules hold",
                       {"rules": findings})


def _port(value: str) -> str:
    return value if "/" in str(value) else f"{value}/tcp"


def _base_images(dockerfile: str) -> list[str]:
    stages, bases = set(), []
    for match in _FROM.finditer(dockerfile):
        image = match.group(1)
        line = dockerfile[match.start():].split("\n", 1)[0].split()
        if "AS" in [w.upper() for w in line] and image.lower() not in stages:
            stages.add(line[-1].lower())
        if image.lower() not in stages and image.lower() != "scratch":
            bases.append(image)
    return bases
