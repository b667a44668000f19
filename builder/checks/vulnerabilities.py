"""Vulnerability gate: the SBOM's packages against the offline OSV advisory database."""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict
from urllib.parse import parse_qs, unquote

from builder.checks.base import CheckResult, CheckStatus, gate
from builder.checks.context import GateContext
from builder.checks.osv import Finding, Package, at_least, exempt, match

_ECOSYSTEMS = {"deb": "Debian", "apk": "Alpine", "pypi": "PyPI", "npm": "npm"}
_ORDER = ["critical", "high", "medium", "low", "unknown"]


@gate("vulnerabilities")
def run(context: GateContext) -> CheckResult:
    """Find the advisories that affect the image's packages and judge them by severity."""
    packages = [p for c in context.sbom().get("components", []) if (p := package_of(c))]
    names = {(p.ecosystem, n) for p in packages for n in {p.name, p.source_name} if n}
    records = context.advisories(sorted(names))
    findings = [f for p in packages for r in records if (f := match(r, p))]
    return judge(findings, context.policy.vulnerabilities, context.today)


def package_of(component: dict) -> Package | None:
    """The OSV view of a CycloneDX component, or None for ecosystems without advisories."""
    purl = component.get("purl", "")
    if not purl.startswith("pkg:"):
        return None
    kind = purl[4:].split("/", 1)[0]
    ecosystem = _ECOSYSTEMS.get(kind)
    if ecosystem is None or not component.get("version"):
        return None
    qualifiers = {k: v[0] for k, v in parse_qs(purl.partition("?")[2]).items()}
    release = qualifiers.get("distro", "").rpartition("-")[2] or None
    if ecosystem == "Alpine" and release:
        release = ".".join(release.split(".")[:2])
    upstream = unquote(qualifiers.get("upstream", "")).partition("@")[0] or None
    return Package(ecosystem, component["name"], component["version"], release, upstream)


def judge(findings: list[Finding], options: dict, today) -> CheckResult:
    """The result for the findings under fail_on and the allow-list (a plain rule)."""
    kept, notes = [], []
    for finding in _unique(findings):
        allowed, note = exempt(finding, options["allow"], today)
        if note:
            notes.append(note)
        if not allowed:
            kept.append(finding)
    counts = Counter(f.severity for f in kept)
    failing = [f for f in kept if at_least(f.severity, options["fail_on"])]
    status = CheckStatus.FAIL if failing else CheckStatus.WARN if kept else CheckStatus.PASS
    parts = [f"{len(kept)} advisories" + (": " + ", ".join(
        f"{counts[s]} {s}" for s in _ORDER if counts[s]) if kept else "")]
    hints = [f"{f.package} {f.version} → {' or '.join(f.fixed)} ({f.id})"
             for f in kept if f.fixed]
    if failing:
        parts.append(f"{len(failing)} at or above {options['fail_on']}")
    if hints:
        parts.append("fixed in: " + ", ".join(hints[:5]))
    parts += notes
    return CheckResult("vulnerabilities", status, "; ".join(parts), {
        "counts": dict(counts), "fail_on": options["fail_on"], "notes": notes,
        "findings": [asdict(f) for f in kept]})


def _unique(findings: list[Finding]) -> list[Finding]:
    seen, unique = set(), []
    for finding in findings:
        key = (finding.id, finding.package, finding.version)
        if key not in seen:
            seen.add(key)
            unique.append(finding)
    return unique
