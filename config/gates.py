"""The `checks:` policy of lockmaster.yml: server defaults merged with per-repository overrides."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date

GATES = ("size", "lint", "sbom", "vulnerabilities", "secrets", "policy", "tests")
SBOM_READERS = frozenset({"sbom", "vulnerabilities"})
OUTCOMES = ("fail", "warn", "off")
LINT_LEVELS = ("error", "warning", "info", "style")
SEVERITIES = ("low", "medium", "high", "critical")
PROBE_IMAGE = "lockmaster-base/busybox:latest"


@dataclass(frozen=True)
class Exemption:
    """An advisory or lint rule that a repository may carry, and why (until `expires`)."""

    id: str
    reason: str
    expires: date | None = None


@dataclass(frozen=True)
class ChecksPolicy:
    """Which gates run for a repository and how strictly."""

    enabled: frozenset[str] = frozenset(GATES)
    fail_closed: bool = True
    size: dict = field(default_factory=lambda: {
        "max_mb": None, "max_uncompressed_mb": None, "max_growth_percent": None,
        "on_growth": "fail"})
    lint: dict = field(default_factory=lambda: {"fail_on": "error", "ignore": ()})
    vulnerabilities: dict = field(default_factory=lambda: {"fail_on": "high", "allow": ()})
    secrets: dict = field(default_factory=lambda: {"outcome": "fail"})
    policy: dict = field(default_factory=lambda: {
        "non_root": "warn", "require_labels": (), "allowed_ports": None,
        "base_digest": "warn", "healthcheck": "warn"})
    tests: dict = field(default_factory=lambda: {
        "file": ".lockmaster/tests.yml", "timeout_seconds": 60, "memory_mb": 256,
        "cpus": 1.0, "probe_image": PROBE_IMAGE})

    @property
    def makes_sbom(self) -> bool:
        """Whether the gates make an SBOM of the image (the vulnerabilities gate reads one
        too): the build's proofs then attest it."""
        return bool(self.enabled & SBOM_READERS)


_KINDS: dict[str, dict[str, object]] = {
    "size": {"max_mb": float, "max_uncompressed_mb": float, "max_growth_percent": float,
             "on_growth": OUTCOMES},
    "lint": {"fail_on": LINT_LEVELS, "ignore": "exemptions"},
    "sbom": {},
    "vulnerabilities": {"fail_on": SEVERITIES, "allow": "exemptions"},
    "secrets": {"outcome": ("fail", "warn")},
    "policy": {"non_root": OUTCOMES, "require_labels": "strings", "allowed_ports": "strings",
               "base_digest": OUTCOMES, "healthcheck": OUTCOMES},
    "tests": {"file": str, "timeout_seconds": int, "memory_mb": int, "cpus": float,
              "probe_image": str},
}


def parse_checks(reader_class, source: str, mapping: object, where: str) -> dict:
    """Validate one `checks:` mapping; returns only the values it sets (to merge over defaults)."""
    reader = reader_class(source, mapping, where, {*GATES, "fail_closed"})
    values: dict = {"gates": {}, "enabled": {}}
    if "fail_closed" in reader.mapping:
        values["fail_closed"] = reader.get("fail_closed", bool)
    for gate in GATES:
        section = reader.get(gate, dict, None)
        if section is None:
            continue
        kinds = _KINDS[gate]
        gate_reader = reader_class(source, section, f"{where}.{gate}", {*kinds, "enabled"})
        if "enabled" in section:
            values["enabled"][gate] = gate_reader.get("enabled", bool)
        values["gates"][gate] = {key: _value(reader_class, gate_reader, key, kind)
                                 for key, kind in kinds.items() if key in section}
    return values


def _value(reader_class, reader, key: str, kind):
    if kind is float:
        number = reader.mapping[key]
        if isinstance(number, bool) or not isinstance(number, (int, float)) or number < 0:
            reader.fail(key, f"must be a number of at least 0, got {number!r}")
        return float(number)
    if isinstance(kind, tuple):
        value = reader.get(key, str)
        if value not in kind:
            reader.fail(key, f"must be one of {', '.join(kind)}")
        return value
    if kind == "strings":
        return tuple(str(v) for v in reader.get(key, list))
    if kind == "exemptions":
        return tuple(_exemption(reader_class, reader, key, item, n)
                     for n, item in enumerate(reader.get(key, list)))
    return reader.get(key, kind)


def _exemption(reader_class, reader, key: str, item: object, index: int) -> Exemption:
    entry = reader_class(reader.source, item, f"{reader.where}.{key}[{index}]",
                         {"id", "reason", "expires"})
    expires = entry.mapping.get("expires")
    if isinstance(expires, str):
        try:
            expires = date.fromisoformat(expires)
        except ValueError:
            entry.fail("expires", f"must be a date written as YYYY-MM-DD, got {expires!r}")
    elif expires is not None and not isinstance(expires, date):
        entry.fail("expires", f"must be a date written as YYYY-MM-DD, got {expires!r}")
    return Exemption(id=entry.get("id", str, required=True),
                     reason=entry.get("reason", str, required=True), expires=expires)


def resolve(*layers: dict) -> ChecksPolicy:
    """The policy made of the defaults, then each parsed `checks:` mapping in order."""
    policy = ChecksPolicy()
    enabled = set(policy.enabled)
    for values in layers:
        for gate, on in values.get("enabled", {}).items():
            (enabled.add if on else enabled.discard)(gate)
        if "fail_closed" in values:
            policy = replace(policy, fail_closed=values["fail_closed"])
        for gate, options in values.get("gates", {}).items():
            if gate != "sbom":
                policy = replace(policy, **{gate: {**getattr(policy, gate), **options}})
    return replace(policy, enabled=frozenset(enabled))
