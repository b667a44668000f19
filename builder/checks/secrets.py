"""Secrets gate: every file of every layer (deleted ones too) and the image config."""

from __future__ import annotations

from builder.checks.base import CheckResult, CheckStatus, gate
from builder.checks.context import GateContext
from builder.checks.masking import find_secrets, find_values

MAX_FILE_BYTES = 8 << 20


@gate("secrets")
def run(context: GateContext) -> CheckResult:
    """Find private keys, cloud keys and tokens; report where, never what."""
    findings = _in_layers(context) + _in_config(context)
    for finding in findings:
        context.secrets.update(finding.pop("values"))
    if not findings:
        return CheckResult("secrets", CheckStatus.PASS, "no secrets found in "
                           f"{len(context.archive.layer_members)} layers and the image config")
    status = CheckStatus(context.policy.secrets["outcome"])
    if any(f["kind"].startswith("build secret") for f in findings):
        status = CheckStatus.FAIL  # a build secret left in the image is never only a warning
    places = "; ".join(f"{f['kind']} in {f['where']}" for f in findings[:5])
    return CheckResult("secrets", status, f"{len(findings)} secret(s) found: {places}",
                       {"findings": findings})


def _in_layers(context: GateContext) -> list[dict]:
    archive, final, findings = context.archive, context.archive.filesystem(), []
    for index, step in enumerate(archive.steps):
        with archive.layer(index) as layer:
            for member in layer:
                if not member.isfile() or member.size > MAX_FILE_BYTES:
                    continue
                content = layer.extractfile(member).read()
                path = "/" + member.name.lstrip("./")
                kept = final.get(path)
                fate = "" if kept and kept.layer == index else ", deleted or replaced later"
                findings += [{"kind": hit.kind, "values": hit.values, "path": path,
                              "layer": index, "step": step[:200],
                              "where": f"{path} (layer {index}: {step[:60]}{fate})"}
                             for hit in _hits(content, context)]
    return findings


def _in_config(context: GateContext) -> list[dict]:
    config = context.archive.config.get("config") or {}
    places = [(f"ENV {e.partition('=')[0]}", e) for e in config.get("Env") or []]
    places += [(f"LABEL {k}", f"{k}={v}") for k, v in (config.get("Labels") or {}).items()]
    places += [(f"history step {n}", h.get("created_by", ""))
               for n, h in enumerate(context.archive.config.get("history", []))]
    return [{"kind": hit.kind, "values": hit.values, "where": where}
            for where, text in places for hit in _hits(text, context)]


def _hits(content: bytes | str, context: GateContext) -> list:
    return find_secrets(content) + find_values(content, context.build_secrets)
