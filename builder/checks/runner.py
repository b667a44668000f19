"""Runs the enabled gates concurrently on one shared export and records what they found."""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from docker.errors import DockerException

# Each gate registers its run function when its module is imported.
import builder.checks.lint
import builder.checks.policy
import builder.checks.sbom
import builder.checks.secrets
import builder.checks.size
import builder.checks.tests
import builder.checks.vulnerabilities  # noqa: F401
from builder.checks.archive import ImageArchive
from builder.checks.base import CheckResult, CheckStatus, GateError, registered_gates
from builder.checks.context import CONTAINER_LABEL, GateContext
from builder.checks.enginelayers import EngineImage
from builder.checks.export import ImageTooLarge, export_image, refuse_too_large
from builder.checks.layerstore import DatabaseLayerCache
from builder.checks.masking import redact, redact_all
from builder.checks.probes import remove_labelled
from builder.checks.record import advisories_lookup, previous_size, store_results
from config.gates import GATES, ChecksPolicy
from ops import metrics

log = logging.getLogger(__name__)
# syft (sbom) then the advisory match (vulnerabilities) is the longest chain; the other gates
# are CPU work that fits around it on a busy worker when it yields the CPU to that chain.
CRITICAL_PATH = {"sbom", "vulnerabilities"}
BACKGROUND_NICENESS = 10


@dataclass(frozen=True)
class Verdict:
    """The gates' results and whether they keep the image out of staging."""

    results: list[CheckResult]
    rejected: bool
    reason: str | None


def run_gates(runtime, build, repo, image_id: str, workspace: Path, build_log) -> Verdict:
    """Run the repository's gates on the built image, store every result, and judge."""
    policy: ChecksPolicy = repo.checks
    enabled = [g for g in GATES if g in policy.enabled]
    build_log.write(f"running the gates: {', '.join(enabled) or 'none enabled'}")
    if not enabled:  # nothing reads the image: skip exporting it
        store_results(runtime.db, build.id, [], None)
        return verdict([], policy.fail_closed)
    scratch = Path(tempfile.mkdtemp(prefix=f"checks-{build.id}-",
                                    dir=_scratch_root(runtime.settings.data_dir)))
    try:
        limit = policy.size["max_uncompressed_mb"] if "size" in enabled else None
        context = _context(runtime, build, repo, image_id, workspace, scratch, limit)
        results = run_all(context, enabled)
        secrets, sbom = context.secrets, context.artifacts.get("sbom")
        build_log.write(_layers_read(context))
    except ImageTooLarge as exc:
        results = [CheckResult(g, CheckStatus.FAIL if g == "size" else CheckStatus.ERROR,
                               str(exc) if g == "size" else f"not run: {exc}") for g in enabled]
        secrets, sbom = set(), None
    except GateError as exc:
        results = [CheckResult(g, CheckStatus.ERROR, str(exc)) for g in enabled]
        secrets, sbom = set(), None
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
        remove_labelled(runtime.docker(), {CONTAINER_LABEL: build.id})
    results = [_masked(r, secrets | build_log.masker.values) for r in results]
    build_log.redact(lambda line: redact(line, secrets))
    store_results(runtime.db, build.id, results,
                  redact(sbom.decode(), secrets).encode() if sbom else None)
    _write_log(build_log, results)
    for result in results:
        if result.status in (CheckStatus.FAIL, CheckStatus.ERROR):
            metrics.gate_failures.labels(result.name).inc()
    return verdict(results, policy.fail_closed)


def verdict(results: list[CheckResult], fail_closed: bool) -> Verdict:
    """Whether the results keep the image out of staging, and why."""
    blocking = [r for r in results if r.blocks(fail_closed)]
    reason = None
    if blocking:
        reason = "rejected by the gates: " + "; ".join(
            f"{_label(r)}: {r.summary}" for r in blocking)
    return Verdict(results, bool(blocking), reason)


def _write_log(build_log, results: list[CheckResult]) -> None:
    for result in results:
        build_log.write(f"check {_label(result)}: {result.status.value} "
                        f"({result.duration_ms} ms) — {result.summary}")
        output = result.details.get("output") if result.status != CheckStatus.PASS else None
        if output:
            build_log.write("\n".join(f"    | {line}" for line in output.splitlines()[-20:]))


def _label(result: CheckResult) -> str:
    return f"{result.name}[{result.test}]" if result.test else result.name


def run_all(context: GateContext, names: list[str]) -> list[CheckResult]:
    """Run the named gates concurrently; a gate that breaks gives an `error` result."""
    gates = registered_gates()
    with ThreadPoolExecutor(max_workers=max(1, len(names))) as pool:
        futures = [(name, pool.submit(_timed, name, gates[name], context)) for name in names]
        return [result for _name, future in futures for result in future.result()]


def _timed(name: str, run, context: GateContext) -> list[CheckResult]:
    if name not in CRITICAL_PATH:
        _yield_cpu()
    started = time.monotonic()
    try:
        outcome = run(context)
    except GateError as exc:
        outcome = CheckResult(name, CheckStatus.ERROR, f"the {name} gate could not run: {exc}")
    except Exception as exc:
        log.exception("gate %s broke", name)
        outcome = CheckResult(name, CheckStatus.ERROR,
                              f"the {name} gate broke: {exc!r}; see the worker log")
    results = outcome if isinstance(outcome, list) else [outcome]
    elapsed = int((time.monotonic() - started) * 1000)
    for result in results:
        result.duration_ms = result.duration_ms or elapsed
    return results


def _yield_cpu() -> None:
    """Lower this gate thread's CPU priority so that syft, the longest step, goes first."""
    with contextlib.suppress(AttributeError, OSError):
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), BACKGROUND_NICENESS)


def _context(runtime, build, repo, image_id: str, workspace: Path, scratch: Path,
             max_uncompressed_mb: float | None):
    client = runtime.docker()
    try:
        image = client.images.get(image_id)
        archive = EngineImage.open(image, scratch)
    except DockerException as exc:
        raise GateError(f"the Docker engine could not read the image: {exc}") from exc
    if archive is None:
        export_image(client, image_id, scratch / "image.tar", max_uncompressed_mb)
        archive = ImageArchive(scratch / "image.tar")
    else:  # the layers would be tarred to this disk as an export is: the same limit holds
        refuse_too_large(image.attrs.get("Size") or 0, max_uncompressed_mb)
    return GateContext(
        build_id=build.id, image_id=image_id, archive=archive, policy=repo.checks,
        workspace=workspace, dockerfile=workspace / repo.dockerfile, docker=client,
        advisories=advisories_lookup(runtime.db),
        previous=previous_size(runtime.db, build), layer_cache=DatabaseLayerCache(runtime.db),
        build_secrets={s.id: os.environ.get(s.env, "") for s in repo.secrets})


def _layers_read(context: GateContext) -> str:
    read = sorted({index for indexes in context.scanned.values() for index in indexes})
    source = ("the engine's layer folders" if isinstance(context.archive, EngineImage)
              else "an export of the image")
    return (f"gates read {len(read)} of {len(context.archive.diff_ids)} layers from {source}"
            + (f" (layers {', '.join(map(str, read))}); the others' results were known"
               if read else "; every layer's results were known"))


def _masked(result: CheckResult, secrets: set[str]) -> CheckResult:
    result.summary = redact(result.summary, secrets)
    result.details = redact_all(result.details, secrets)
    return result


def _scratch_root(data_dir: Path) -> Path:
    root = data_dir / "checks"
    root.mkdir(parents=True, exist_ok=True)
    return root
