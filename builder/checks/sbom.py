"""SBOM gate: syft's CycloneDX document of the image, kept as the build's `sbom` artifact."""

from __future__ import annotations

from collections import Counter

from builder.checks.base import CheckResult, CheckStatus, gate
from builder.checks.context import GateContext
from builder.checks.layers import cache_report
from builder.checks.sbomlayers import sbom_kind


@gate("sbom")
def run(context: GateContext) -> CheckResult:
    """Make the SBOM (shared with the vulnerability gate) and count its packages by type."""
    document = context.sbom()
    counts = Counter(package_type(c) for c in document.get("components", [])
                     if c.get("type") != "operating-system")
    listed = ", ".join(f"{kind}: {n}" for kind, n in sorted(counts.items())) or "none"
    return CheckResult("sbom", CheckStatus.PASS,
                       f"{sum(counts.values())} packages ({listed})",
                       {"packages_by_type": dict(counts), "format": "CycloneDX JSON",
                        "artifact": f"/api/v1/builds/{context.build_id}/sbom",
                        "layer_cache": cache_report(context, sbom_kind(context))})


def package_type(component: dict) -> str:
    """syft's package type of a CycloneDX component (deb, python, npm, apk, binary …)."""
    for prop in component.get("properties", []):
        if prop.get("name") == "syft:package:type":
            return prop.get("value", "unknown")
    purl = component.get("purl", "")
    return purl[4:].split("/", 1)[0] if purl.startswith("pkg:") else "unknown"
