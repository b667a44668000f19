"""Matching packages against OSV advisory records, and reading their severity (plain rules)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date

from cvss import CVSS2, CVSS3, CVSS4

from builder.checks.versions import UnknownVersion, compare, sort_key
from config.gates import SEVERITIES, Exemption

_WORDS = {"critical": "critical", "high": "high", "important": "high", "moderate": "medium",
          "medium": "medium", "low": "low", "negligible": "low", "unimportant": "low"}
_CVSS = {"CVSS_V2": CVSS2, "CVSS_V3": CVSS3, "CVSS_V4": CVSS4}


@dataclass(frozen=True)
class Package:
    """A package of the image, as the SBOM names it, in OSV's words."""

    ecosystem: str
    name: str
    version: str
    release: str | None = None
    source_name: str | None = None


@dataclass
class Finding:
    """One advisory that affects one package of the image."""

    id: str
    package: str
    version: str
    severity: str
    score: float | None
    fixed: list[str] = field(default_factory=list)
    aliases: list[str] = field(default_factory=list)
    summary: str = ""


def normalize_name(ecosystem: str, name: str) -> str:
    """The name as the ecosystem compares names (PEP 503 for PyPI)."""
    return re.sub(r"[-_.]+", "-", name).lower() if ecosystem == "PyPI" else name


def match(record: dict, package: Package) -> Finding | None:
    """The finding when the record affects this package's version, else None."""
    for affected in record.get("affected", []):
        if not _same_package(affected.get("package", {}), package):
            continue
        hit, fixed = _affects(affected, package)
        if hit:
            severity, score = severity_of(record, affected)
            return Finding(record["id"], package.name, package.version, severity, score, fixed,
                           list(record.get("aliases", [])), record.get("summary", ""))
    return None


def _same_package(named: dict, package: Package) -> bool:
    ecosystem, _, release = named.get("ecosystem", "").partition(":")
    if ecosystem != package.ecosystem:
        return False
    if release and package.release and release.lstrip("v") != package.release.lstrip("v"):
        return False
    name = normalize_name(ecosystem, named.get("name", ""))
    return name in {normalize_name(ecosystem, package.name),
                    normalize_name(ecosystem, package.source_name or package.name)}


def _affects(affected: dict, package: Package) -> tuple[bool, list[str]]:
    eco, version = package.ecosystem, package.version
    fixed = [e["fixed"] for r in affected.get("ranges", []) for e in r.get("events", [])
             if "fixed" in e]
    if version in affected.get("versions", []):
        return True, fixed
    try:
        hit = any(_in_range(eco, r["events"], version) for r in affected.get("ranges", [])
                  if r.get("type") in ("ECOSYSTEM", "SEMVER"))
    except UnknownVersion:
        return False, fixed
    return hit, fixed


def _in_range(ecosystem: str, events: list[dict], version: str) -> bool:
    def position(event: dict):
        value = next(iter(event.values()))
        return (0, "") if value == "0" else (1, sort_key(ecosystem)(value))

    inside = False
    for event in sorted(events, key=position):
        if "introduced" in event:
            if event["introduced"] == "0" or compare(ecosystem, version, event["introduced"]) >= 0:
                inside = True
        elif _past(ecosystem, version, event):
            inside = False
    return inside


def _past(ecosystem: str, version: str, event: dict) -> bool:
    if "fixed" in event:
        return compare(ecosystem, version, event["fixed"]) >= 0
    return "last_affected" in event and compare(ecosystem, version, event["last_affected"]) > 0


def severity_of(record: dict, affected: dict | None = None) -> tuple[str, float | None]:
    """(low|medium|high|critical|unknown, CVSS score or None) from the record."""
    for entry in record.get("severity", []) + (affected or {}).get("severity", []):
        kind = _CVSS.get(entry.get("type"))
        if kind is None:
            continue
        try:
            score = float(kind(entry["score"]).base_score)
        except Exception:
            continue
        return level_of_score(score), score
    for where in ((affected or {}).get("ecosystem_specific", {}),
                  (affected or {}).get("database_specific", {}),
                  record.get("database_specific", {})):
        word = str(where.get("severity", "")).lower()
        if word in _WORDS:
            return _WORDS[word], None
    return "unknown", None


def level_of_score(score: float) -> str:
    """CVSS qualitative rating of a base score."""
    if score >= 9.0:
        return "critical"
    if score >= 7.0:
        return "high"
    return "medium" if score >= 4.0 else "low"


def at_least(severity: str, threshold: str) -> bool:
    """True when severity is the threshold or worse (unknown never is)."""
    return severity in SEVERITIES and SEVERITIES.index(severity) >= SEVERITIES.index(threshold)


def exempt(finding: Finding, allow: tuple[Exemption, ...], today: date) -> tuple[bool, str | None]:
    """(allowed?, note) for a finding under the allow-list; expired entries stop applying."""
    for entry in allow:
        if entry.id not in {finding.id, *finding.aliases}:
            continue
        if entry.expires and entry.expires < today:
            return False, (f"allow-list entry for {entry.id} expired on {entry.expires}; "
                           "it no longer applies")
        until = f" (until {entry.expires})" if entry.expires else ""
        return True, f"{finding.id} allowed: {entry.reason}{until}"
    return False, None
