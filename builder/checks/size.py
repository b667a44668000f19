"""Size gate: compressed and uncompressed size, limits, and growth since the last staged build."""

from __future__ import annotations

import zlib

from builder.checks.base import CheckResult, CheckStatus, gate
from builder.checks.context import GateContext
from builder.checks.layers import cache_report, per_layer

MB = 1024 * 1024
CHUNK = 1 << 20


@gate("size")
def run(context: GateContext) -> CheckResult:
    """Measure the image and judge it against the size policy."""
    options = context.policy.size
    archive = context.archive
    # gzip is deterministic: a layer measured for any earlier build keeps its size.
    sizes = per_layer(context, "size", lambda index: _measure(context, index))
    layers = [{"step": step, "size": known["size"], "diff_id": diff_id,
               "compressed": known["compressed"]}
              for step, diff_id, known in zip(archive.steps, archive.diff_ids, sizes, strict=True)]
    measured = {"compressed": sum(layer["compressed"] for layer in layers),
                "uncompressed": sum(layer["size"] for layer in layers), "layers": layers}
    problems, status = [], CheckStatus.PASS
    for key, limit_key in (("compressed", "max_mb"), ("uncompressed", "max_uncompressed_mb")):
        limit = options[limit_key]
        if limit is not None and measured[key] > limit * MB:
            problems.append(f"{key} size over the {limit:g} MB limit ({limit_key})")
            status = CheckStatus.FAIL
    growth = growth_report(measured, context.previous, options)
    if growth["over_limit"] and options["on_growth"] != "off":
        problems.append(growth["text"])
        if status == CheckStatus.PASS or options["on_growth"] == "fail":
            status = CheckStatus(options["on_growth"])
    summary = (f"{measured['compressed'] / MB:.2f} MB compressed, "
               f"{measured['uncompressed'] / MB:.2f} MB uncompressed")
    extra = problems or ([growth["text"]] if growth["text"] else [])
    summary = "; ".join([summary, *extra])
    return CheckResult("size", status, summary, {**measured, "growth": growth,
                                                 "layer_cache": cache_report(context, "size")})


def _measure(context: GateContext, index: int) -> dict:
    """One layer's tar size and gzip size, as a registry stores it."""
    packer, total = zlib.compressobj(6, zlib.DEFLATED, 31), 0
    with context.archive.layer_file(index) as (handle, size):
        while chunk := handle.read(CHUNK):
            total += len(packer.compress(chunk))
    return {"size": size, "compressed": total + len(packer.flush())}


def growth_report(measured: dict, previous: dict | None, options: dict) -> dict:
    """How much the image grew since `previous`, and which steps grew most (plain rule)."""
    if not previous or not previous.get("compressed"):
        return {"percent": None, "over_limit": False, "text": "", "grew_most": []}
    before = previous["compressed"]
    percent = (measured["compressed"] - before) / before * 100
    old = {}
    for layer in previous.get("layers", []):
        old[layer["step"]] = old.get(layer["step"], 0) + layer.get("compressed", layer["size"])
    deltas = sorted(((layer["compressed"] - old.get(layer["step"], 0), layer["step"])
                     for layer in measured["layers"]), reverse=True)
    grew = [{"step": step[:120], "bytes": delta} for delta, step in deltas[:3] if delta > 0]
    limit = options.get("max_growth_percent")
    over = limit is not None and percent > limit
    text = f"grew {percent:+.1f}% since build {previous.get('build_id', '?')}"
    if limit is not None:
        text += f" (limit {limit:g}%)"
    if grew:
        text += "; grew most: " + ", ".join(f"{g['step']} (+{g['bytes'] / 1024:.1f} KiB)"
                                             for g in grew)
    return {"percent": round(percent, 2), "over_limit": over, "text": text, "grew_most": grew}
