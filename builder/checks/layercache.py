"""What the gates found per layer, remembered by the layer's diff_id across builds and repositories.

A layer's diff_id is the digest of its content, so a result that depends only on the layer
(its compressed size, its secrets, its packages) is valid for every image that holds it.
This store lives in one process; the installation's is in the database (`layerstore`).
"""

from __future__ import annotations

import threading


class MemoryLayerCache:
    """The layer results of one process (gates run outside a build, e.g. on the command line)."""

    def __init__(self) -> None:
        self._results: dict[tuple[str, str], dict] = {}
        self._lock = threading.Lock()

    def get(self, kind: str, diff_ids: list[str]) -> dict[str, dict]:
        """The known results of these layers, by diff_id."""
        with self._lock:
            return {d: self._results[d, kind] for d in diff_ids if (d, kind) in self._results}

    def put(self, kind: str, diff_id: str, result: dict) -> None:
        """Remember one layer's result."""
        with self._lock:
            self._results[diff_id, kind] = result
