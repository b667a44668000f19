"""Per-layer work of the gates: a layer's result comes from the cache, or once from its bytes."""

from __future__ import annotations

import posixpath
from collections.abc import Callable

from builder.checks.archive import OPAQUE, WHITEOUT

PATHS = "paths"


def per_layer(context, kind: str, compute: Callable[[int], dict], start: int = 0) -> list[dict]:
    """Each layer's result of one kind (from `start` up), computing only the unknown ones."""
    diff_ids = context.archive.diff_ids[start:]
    known = context.layer_cache.get(kind, diff_ids)
    results = []
    for index, diff_id in enumerate(diff_ids, start):
        if diff_id not in known:
            known[diff_id] = compute(index)
            context.layer_cache.put(kind, diff_id, known[diff_id])
            context.scanned.setdefault(kind, []).append(index)
        results.append(known[diff_id])
    return results


def cache_report(context, kind: str) -> dict:
    """How many layers one kind of result was computed for, and how many came from the cache."""
    scanned = len(context.scanned.get(kind, []))
    return {"scanned": scanned, "reused": len(context.archive.diff_ids) - scanned}


def layer_paths(context, index: int) -> dict:
    """What one layer writes and deletes (to tell what a later layer replaced)."""
    written, deleted = [], []
    with context.archive.layer(index) as layer:
        for member in layer:
            path = "/" + posixpath.normpath(member.name).lstrip("./")
            folder, base = posixpath.split(path)
            if base == OPAQUE:
                deleted.append(folder.rstrip("/") + "/")
            elif base.startswith(WHITEOUT):
                deleted.append(posixpath.join(folder, base[len(WHITEOUT):]))
            elif not member.isdir():
                written.append(path)
    return {"written": sorted(written), "deleted": sorted(deleted)}


class LaterLayers:
    """Answers whether a file of one layer is replaced or deleted by a layer above it."""

    def __init__(self, context) -> None:
        entries = per_layer(context, PATHS, lambda i: layer_paths(context, i), start=1)
        self._layers = [(set(e["written"]), e["deleted"]) for e in entries]

    def replaced(self, index: int, path: str) -> bool:
        """True when a layer above `index` writes or deletes `path` (or a folder holding it)."""
        for written, deleted in self._layers[index:]:
            if path in written or any(path == d or path.startswith(d.rstrip("/") + "/")
                                      for d in deleted):
                return True
        return False
