"""Disk hygiene: remove what Lockmaster created and no longer needs, and nothing else."""

from __future__ import annotations

import contextlib
import shutil
import time
from collections import defaultdict
from pathlib import Path

from docker.errors import APIError, NotFound
from sqlalchemy import select

from bootstrap import Runtime
from builder.checks.layerstore import prune
from builder.image import remove_container
from builder.recipe import BUILD_ID_LABEL
from builder.source import LAST_USED, locked
from builder.watchdog import containers_key
from provenance.formats import is_proof_tag
from record.models import Build
from states import BuildStatus


def collect(runtime: Runtime, dry_run: bool = False) -> dict[str, list[str]]:
    """Remove (or with dry_run only list) what the gc policy says Lockmaster may drop."""
    client = runtime.docker()
    ours = _build_ids(runtime)
    report = {
        "old local images": _old_images(runtime, client, ours),
        "dangling images": [image.id for image in client.images.list(
            filters={"dangling": True, "label": BUILD_ID_LABEL})
            if image.labels.get(BUILD_ID_LABEL) in ours],
        "build containers": _leftover_containers(runtime, ours),
        "mirrors": _old_mirrors(runtime),
        "layer results": prune(runtime.db, runtime.settings.gc.layer_cache_entries, dry_run),
        "build cache": _cache_over(runtime, client),
    }
    if not dry_run:
        _remove(runtime, client, report)
        if report["build cache"]:
            # Engine-wide: BuildKit's cache has no owner, so this also trims other users'.
            client.api.prune_builds(keep_storage=runtime.settings.gc.build_cache_max_gb << 30)
        _forget_ended_container_sets(runtime, ours)
    return report


def _build_ids(runtime: Runtime) -> dict[str, str]:
    """This installation's builds (id → status): whatever else is on the engine is not ours."""
    with runtime.db.session() as session:
        rows = session.execute(select(Build.id, Build.status))
        return {build_id: status for build_id, status in rows}


def _old_images(runtime: Runtime, client, ours: dict[str, str]) -> list[str]:
    """Local tags of staged images beyond `keep_images` per repository (the registry keeps
    them); only images built here and tagged in this installation's staging repositories."""
    registry = runtime.settings.registry
    prefix = f"{registry.url}/{registry.staging}/"
    by_repository = defaultdict(list)
    for image in client.images.list(filters={"label": BUILD_ID_LABEL}):
        if image.labels.get(BUILD_ID_LABEL) not in ours:
            continue
        for tag in image.tags:
            if tag.startswith(prefix) and not is_proof_tag(tag.rsplit(":", 1)[-1]):
                by_repository[tag.rsplit(":", 1)[0]].append((image.attrs["Created"], tag))
    keep = runtime.settings.gc.keep_images
    old = []
    for tags in by_repository.values():
        created = sorted({c for c, _t in tags}, reverse=True)[keep:]
        old += sorted(t for c, t in tags if c in created)
    return old


def _leftover_containers(runtime: Runtime, ours: dict[str, str]) -> list[str]:
    """Containers recorded for builds that have ended and that the engine still has."""
    found = []
    for key in runtime.redis.scan_iter(match=containers_key("*")):
        build_id = key.decode().rsplit(":", 1)[-1]
        if build_id in ours and BuildStatus(ours[build_id]).is_final:
            found += [raw.decode() for raw in runtime.redis.smembers(key)]
    return found


def _cache_over(runtime: Runtime, client) -> list[str]:
    """The engine's build cache, if it is over gc.build_cache_max_gb (pruned engine-wide)."""
    used = (disk_usage(client).get("BuilderSize") or 0) \
        if runtime.settings.gc.build_cache_max_gb else 0
    keep = cache_to_keep(runtime.settings.gc.build_cache_max_gb, used)
    return [] if keep is None else [f"{used / 2**30:.1f} GB of build cache (engine-wide), "
                                    f"pruned to {keep >> 30} GB"]


def disk_usage(client, attempts: int = 10) -> dict:
    """The engine's `system df`; the engine answers one at a time ("a disk usage operation
    is already running" to the others), so a busy one is asked again a moment later."""
    for attempt in range(1, attempts + 1):
        try:
            return client.api.df()
        except APIError as exc:
            if attempt == attempts or "already running" not in str(exc):
                raise
            time.sleep(0.5)
    raise AssertionError("unreachable")


def cache_to_keep(max_gb: int, used_bytes: int) -> int | None:
    """How many bytes of build cache to keep, or None when nothing needs pruning."""
    if max_gb <= 0 or used_bytes <= max_gb << 30:
        return None
    return max_gb << 30


def _old_mirrors(runtime: Runtime) -> list[str]:
    folder = runtime.settings.mirror_dir
    if not folder.is_dir():
        return []
    cutoff = time.time() - runtime.settings.gc.mirror_max_age_days * 86400
    return sorted(str(m) for m in folder.glob("*.git")
                  if not (m / LAST_USED).exists() or (m / LAST_USED).stat().st_mtime < cutoff)


def _remove(runtime: Runtime, client, report: dict[str, list[str]]) -> None:
    for reference in report["old local images"] + report["dangling images"]:
        # An image in use by a container, or already gone, is left to the next gc.
        with contextlib.suppress(NotFound, APIError):
            client.images.remove(reference, noprune=False)
    for container_id in report["build containers"]:
        remove_container(client, container_id)
    for path in report["mirrors"]:
        with locked(Path(path)):
            shutil.rmtree(path, ignore_errors=True)


def _forget_ended_container_sets(runtime: Runtime, ours: dict[str, str]) -> None:
    for key in runtime.redis.scan_iter(match=containers_key("*")):
        build_id = key.decode().rsplit(":", 1)[-1]
        if build_id in ours and BuildStatus(ours[build_id]).is_final:
            runtime.redis.delete(key)
