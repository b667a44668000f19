"""The SBOM layer by layer: syft on each new layer's files, merged as a whole-image scan sees it.

A package database (dpkg's `status`, a dist-info's METADATA) counts from the top-most layer
that holds it, so the packages of a later `apt-get install` replace the base's list; a file
deleted by a later layer takes its packages with it.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import uuid
from datetime import UTC, datetime
from pathlib import Path

from builder.checks.base import GateError
from builder.checks.layerimage import catalogable, write_layer_image
from builder.checks.layers import LaterLayers, per_layer
from builder.checks.tools import run_tool

SYFT_TIMEOUT_SECONDS = 600
MAX_RELEASE_BYTES = 16 << 10
OS_RELEASE = ("etc/os-release", "usr/lib/os-release")


def image_sbom(context) -> dict:
    """The image's CycloneDX document, from the per-layer package lists."""
    release = _release(context)
    layers = per_layer(context, sbom_kind(context),
                       lambda i: scan_layer(context, i, release))
    later, components, seen = LaterLayers(context), [], set()
    for index, layer in enumerate(layers):
        for component in layer["components"]:
            home = component_home(component)
            key = identity(component)
            if (home and later.replaced(index, home)) or key in seen:
                continue
            seen.add(key)
            components.append(component)
    tools = next((layer["tools"] for layer in reversed(layers) if layer["tools"]), {})
    spec = next((layer["spec"] for layer in reversed(layers) if layer["spec"]), "1.6")
    return {"bomFormat": "CycloneDX", "specVersion": spec,
            "serialNumber": f"urn:uuid:{uuid.uuid4()}", "version": 1,
            "metadata": {"timestamp": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                         "tools": tools,
                         "component": {"bom-ref": context.image_id, "type": "container",
                                       "name": context.image_id}},
            "components": components}


def sbom_kind(context) -> str:
    """The cache kind of a layer's packages: their purls name the image's distro."""
    return f"sbom:{hashlib.sha256(_release(context)).hexdigest()[:16]}"


def identity(component: dict) -> tuple:
    """What makes two components the same package (bom-refs differ from scan to scan)."""
    return (component.get("type"), component.get("name"), component.get("version"),
            component.get("purl"))


def component_home(component: dict) -> str | None:
    """The file a component was read from: its package database, or its first location."""
    paths = [p["value"] for p in component.get("properties", [])
             if p.get("name", "").startswith("syft:location:") and p["name"].endswith(":path")]
    databases = [p for p in paths if "/var/lib/dpkg/status" in p or "/lib/apk/db/" in p]
    return (databases or paths or [None])[0]


def _release(context) -> bytes:
    """The image's os-release (the top-most layer's), which every layer's purls depend on."""
    def read(index: int) -> dict:
        with context.archive.layer(index) as layer:
            for name in ("etc/os-release", "./etc/os-release", "usr/lib/os-release",
                         "./usr/lib/os-release"):
                try:
                    member = layer.getmember(name)
                except KeyError:
                    continue
                if member.isfile() and member.size <= MAX_RELEASE_BYTES:
                    return {"text": layer.extractfile(member).read().decode(errors="replace")}
        return {"text": None}

    found = [e["text"] for e in per_layer(context, "os-release", read) if e["text"] is not None]
    return found[-1].encode() if found else b""


def scan_layer(context, index: int, release: bytes) -> dict:
    """syft's packages in one layer (over the image's os-release, which names the distro)."""
    with context.archive.layer(index) as layer:
        if not catalogable(layer):
            return {"components": [], "spec": None, "tools": {}}
    with tempfile.TemporaryDirectory(dir=context.archive.path.parent) as folder:
        image, out = Path(folder) / "layer.tar", Path(folder) / "layer.cdx.json"
        own = _folder_naming_its_distro(context, index)
        if own:  # syft reads the engine's folder in place, never above it
            source = [f"dir:{own}", "--base-path", str(own),
                      "--override-default-catalogers", "image"]
        else:
            write_layer_image(context, index, release, image)
            source = [f"docker-archive:{image}"]
        done = run_tool(["syft", "scan", *source, "-q", "-o", f"cyclonedx-json={out}"],
                        SYFT_TIMEOUT_SECONDS)
        if done.returncode != 0 or not out.exists():
            raise GateError(f"syft failed on layer {index} (exit {done.returncode}): "
                            f"{done.stderr.strip()[-500:]}")
        document = json.loads(out.read_bytes())
    return {"components": document.get("components", []),
            "spec": document.get("specVersion"),
            "tools": document.get("metadata", {}).get("tools", {})}


def _folder_naming_its_distro(context, index: int) -> Path | None:
    """The engine's folder of a layer that holds its own os-release (a base), if readable."""
    folder = getattr(context.archive, "folder", lambda _index: None)(index)
    if folder and any(os.path.lexists(folder / name) for name in OS_RELEASE):
        return folder
    return None
