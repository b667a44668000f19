"""What every gate sees: the build, the policy and one shared export of the image."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from builder.checks.archive import ImageArchive
from builder.checks.base import GateError
from builder.checks.layercache import MemoryLayerCache
from builder.checks.sbomlayers import image_sbom
from builder.repofiles import RepositoryFileError, read_text
from config.gates import ChecksPolicy

CONTAINER_LABEL = "io.lockmaster.check-run"


@dataclass
class GateContext:
    """One build's inputs to the gates; gates only read it (the SBOM is made once, on demand)."""

    build_id: str
    image_id: str
    archive: ImageArchive
    policy: ChecksPolicy
    workspace: Path
    dockerfile: Path
    docker: object
    advisories: Callable[[list[tuple[str, str]]], list[dict]]
    previous: dict | None = None
    today: date = field(default_factory=date.today)
    container_label: str = CONTAINER_LABEL
    secrets: set[str] = field(default_factory=set)
    build_secrets: dict[str, str] = field(default_factory=dict)  # id → value, never shown
    artifacts: dict[str, bytes] = field(default_factory=dict)
    layer_cache: object = field(default_factory=MemoryLayerCache)
    scanned: dict[str, list[int]] = field(default_factory=dict)
    _sbom_lock: threading.Lock = field(default_factory=threading.Lock)

    def sbom(self) -> dict:
        """The CycloneDX SBOM of the image, merged from each layer's packages (made once)."""
        with self._sbom_lock:
            if "sbom" not in self.artifacts:
                self.artifacts["sbom"] = json.dumps(image_sbom(self)).encode()
        return json.loads(self.artifacts["sbom"])

    def dockerfile_text(self) -> str:
        """The Dockerfile the image was built from (read as the build read it)."""
        try:
            text = read_text(self.workspace, str(self.dockerfile.relative_to(self.workspace)))
        except RepositoryFileError as exc:
            raise GateError(str(exc)) from exc
        return text or ""
