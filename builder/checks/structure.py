"""Structure tests: files, contents, env and metadata of the image, read from the shared export."""

from __future__ import annotations

from builder.checks import patterns
from builder.checks.archive import ImageArchive


def check_structure(archive: ImageArchive, spec: dict) -> list[str]:
    """What differs from the declared structure (empty when it all holds)."""
    files, config = archive.filesystem(), archive.config.get("config") or {}
    problems = [f"{p} does not exist" for p in spec.get("exists", []) if p not in files]
    problems += [f"{p} exists" for p in spec.get("absent", []) if p in files]
    for path, pattern in (spec.get("contents") or {}).items():
        if path not in files:
            problems.append(f"{path} does not exist")
        elif not patterns.search(pattern, archive.read(files[path]).decode(errors="replace")):
            problems.append(f"{path} does not match /{pattern}/")
    env = dict(e.partition("=")[::2] for e in config.get("Env") or [])
    problems += [f"env {k} is {env.get(k)!r}, expected /{v}/"
                 for k, v in (spec.get("env") or {}).items()
                 if k not in env or not patterns.fullmatch(str(v), env[k])]
    labels = config.get("Labels") or {}
    problems += [f"label {k} is {labels.get(k)!r}, expected /{v}/"
                 for k, v in (spec.get("labels") or {}).items()
                 if k not in labels or not patterns.fullmatch(str(v), labels[k])]
    for key, field in (("user", "User"), ("workdir", "WorkingDir")):
        if key in spec and str(spec[key]) != (config.get(field) or ""):
            problems.append(f"{key} is {config.get(field)!r}, expected {spec[key]!r}")
    if "exposed_ports" in spec:
        exposed = sorted(config.get("ExposedPorts") or {})
        wanted = sorted(p if "/" in str(p) else f"{p}/tcp" for p in spec["exposed_ports"])
        if exposed != wanted:
            problems.append(f"exposed ports are {exposed}, expected {wanted}")
    return problems
