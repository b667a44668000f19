"""Secrets gate: every file of every layer (deleted ones too), archives in them, the config."""

from __future__ import annotations

import hashlib

from builder.checks.base import CheckResult, CheckStatus, gate
from builder.checks.context import GateContext
from builder.checks.inarchives import inside_archive, is_archive
from builder.checks.layers import LaterLayers, cache_report, per_layer
from builder.checks.masking import find_secrets, find_values

MAX_FILE_BYTES = 8 << 20
# A file that its Debian package installed, byte for byte, holds no secret of the image's
# owner: TLS libraries carry their self-test keys (gnutls: RSA, DSA, EC and GOST ones).
DPKG_INFO = "/var/lib/dpkg/info/"


@gate("secrets")
def run(context: GateContext) -> CheckResult:
    """Find private keys, cloud keys and tokens; report where, never what."""
    findings = _in_layers(context) + _in_config(context)
    layers = len(context.archive.diff_ids)
    details = {"findings": findings, "layer_cache": cache_report(context, _kind(context))}
    if not findings:
        return CheckResult("secrets", CheckStatus.PASS,
                           f"no secrets found in {layers} layers and the image config", details)
    status = CheckStatus(context.policy.secrets["outcome"])
    if any(f["kind"].startswith("build secret") for f in findings):
        status = CheckStatus.FAIL  # a build secret left in the image is never only a warning
    places = "; ".join(f"{f['kind']} in {f['where']}" for f in findings[:5])
    return CheckResult("secrets", status, f"{len(findings)} secret(s) found: {places}", details)


# Raised when find_values finds more than it did: a layer's remembered findings for build
# secrets were made by the older rule (2: base64 at any offset, wrapped, URL-safe).
BUILD_SECRET_RULES = 2


def _kind(context: GateContext) -> str:
    """The cache kind: a layer's findings also depend on the build secrets looked for, and on
    the rules that looked for them."""
    if not context.build_secrets:
        return "secrets"
    values = "\0".join(f"{k}={v}" for k, v in sorted(context.build_secrets.items())).encode()
    return f"secrets-v{BUILD_SECRET_RULES}:{hashlib.sha256(values).hexdigest()[:24]}"


def _in_layers(context: GateContext) -> list[dict]:
    """Each layer's findings (remembered without their values), placed in the image."""
    per = per_layer(context, _kind(context), lambda index: {"findings": _scan(context, index)})
    later = LaterLayers(context) if any(e["findings"] for e in per[:-1]) else None
    findings = []
    for index, (entry, step) in enumerate(zip(per, context.archive.steps, strict=False)):
        for found in entry["findings"]:
            fate = ", deleted or replaced later" if later and later.replaced(
                index, found["path"]) else ""
            inside = f" inside the archive, as {found['member']}" if found.get("member") else ""
            findings.append({**found, "layer": index, "step": step[:200],
                             "where": f"{found['path']}{inside} (layer {index}: "
                                      f"{step[:60]}{fate})"})
    return findings


def _scan(context: GateContext, index: int) -> list[dict]:
    """The secrets in one layer's files; their values go to the masker, not to the record."""
    found, packaged = [], {}
    with context.archive.layer(index) as layer:
        for member in layer:
            if not member.isfile() or member.size > MAX_FILE_BYTES:
                continue
            content = layer.extractfile(member).read()
            path = "/" + member.name.lstrip("./")
            if path.startswith(DPKG_INFO) and path.endswith(".md5sums"):
                packaged.update(_md5sums(content))
            # An archive's files are scanned instead of its bytes (a stored zip holds them as is).
            places = (inside_archive(content) if is_archive(content) else []) or [(None, content)]
            hits = [(name, hit) for name, data in places for hit in _hits(context, data)]
            if hits:
                found.append((path, hashlib.md5(content, usedforsecurity=False).hexdigest(), hits))
    return [_finding(path, name, hit, context) for path, digest, hits in found
            if packaged.get(path) != digest for name, hit in hits]


def _finding(path: str, member: str | None, hit, context: GateContext) -> dict:
    context.secrets.update(hit.values)
    return {"kind": hit.kind, "path": path, **({"member": member} if member else {})}


def _md5sums(content: bytes) -> dict[str, str]:
    """dpkg's checksums of a package's files: such a file, unchanged, is the distribution's."""
    sums = {}
    for line in content.decode(errors="replace").splitlines():
        digest, _, name = line.partition("  ")
        if len(digest) == 32 and name:
            sums["/" + name.lstrip("/")] = digest
    return sums


def _hits(context: GateContext, data: bytes):
    return find_secrets(data, verify=True) + find_values(data, context.build_secrets)


def _in_config(context: GateContext) -> list[dict]:
    config = context.archive.config.get("config") or {}
    places = [(f"ENV {e.partition('=')[0]}", e) for e in config.get("Env") or []]
    places += [(f"LABEL {k}", f"{k}={v}") for k, v in (config.get("Labels") or {}).items()]
    places += [(f"history step {n}", h.get("created_by", ""))
               for n, h in enumerate(context.archive.config.get("history", []))]
    findings = []
    for where, text in places:
        for hit in _hits(context, text.encode()):
            context.secrets.update(hit.values)
            findings.append({"kind": hit.kind, "where": where})
    return findings
