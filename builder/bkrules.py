"""BuildKit Dockerfile rules: what a RUN step may ask for, the secrets it names, and what a
`# syntax=` line becomes when the frontend image cannot be had (plain domain code)."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from builder.errors import BuildFailure

_DIRECTIVE = re.compile(r"^\s*#\s*([a-zA-Z]+)\s*=\s*(\S+)\s*$")
# The built-in frontend of the engine implements the docker/dockerfile:1 syntax.
_BUILT_IN = re.compile(r"^(docker\.io/)?docker/dockerfile:1(\.\d+){0,2}$")
_DOCKERFILE_SYNTAX = re.compile(r"^(docker\.io/)?docker/dockerfile(-upstream)?:")
_FLAG = re.compile(r"^--([a-z-]+)(?:=(\S*))?$")
MIRROR_ADVICE = ("the frontend image cannot be pulled by this engine: mirror it into the "
                 "registry (e.g. docker pull docker/dockerfile:1 and push it as "
                 "<registry>/mirror/dockerfile:1) and name it in lockmaster.yml as "
                 "buildkit.frontend_image")


@dataclass(frozen=True)
class Frontend:
    """What the build does about the Dockerfile's `# syntax=` line."""

    dockerfile: str
    syntax_arg: str | None = None
    note: str | None = None
    fell_back: bool = False


def syntax_of(text: str) -> str | None:
    """The `# syntax=` directive at the top of the Dockerfile, if any."""
    for line in text.splitlines():
        match = _DIRECTIVE.match(line)
        if not match:
            return None
        if match.group(1).lower() == "syntax":
            return match.group(2)
    return None


def frontend(text: str, frontend_image: str | None, available: bool) -> Frontend:
    """Honour `# syntax=` when the image can be had; fall back to the built-in frontend for
    docker/dockerfile:1 / 1.x (saying so); refuse any other syntax with the mirror advice."""
    syntax = syntax_of(text)
    if syntax is None or available:
        return Frontend(text)
    if frontend_image and _DOCKERFILE_SYNTAX.match(syntax):
        return Frontend(text, syntax_arg=frontend_image,
                        note=f"# syntax={syntax}: using the mirrored frontend {frontend_image}")
    if _BUILT_IN.match(syntax):
        return Frontend(_without_syntax(text), fell_back=True,
                        note=f"# syntax={syntax}: the frontend image cannot be pulled here; "
                             "building with the engine's built-in Dockerfile frontend")
    raise BuildFailure("build", f"the Dockerfile asks for the frontend {syntax} (# syntax=), "
                                f"and {MIRROR_ADVICE}")


def _without_syntax(text: str) -> str:
    """The Dockerfile with its syntax directive blanked (same line numbers in errors)."""
    lines = text.split("\n")
    for index, line in enumerate(lines):
        match = _DIRECTIVE.match(line)
        if not match:
            break
        if match.group(1).lower() == "syntax":
            lines[index] = "#"
    return "\n".join(lines)


def instructions(text: str) -> list[str]:
    """The Dockerfile's instructions, continuation lines joined, comments left out."""
    found, current = [], ""
    for raw in text.splitlines():
        line = raw.strip()
        if not current and (not line or line.startswith("#")):
            continue
        if line.startswith("#"):
            continue
        if line.endswith("\\"):
            current += line[:-1] + " "
            continue
        found.append(current + line)
        current = ""
    if current:
        found.append(current)
    return found


def run_flags(instruction: str) -> list[tuple[str, str]]:
    """The leading --flag=value options of a RUN instruction ([] for other instructions)."""
    words = instruction.split()
    if not words or words[0].upper() != "RUN":
        return []
    flags = []
    for word in words[1:]:
        match = _FLAG.match(word)
        if not match:
            break
        flags.append((match.group(1), match.group(2) or ""))
    return flags


def check_run_steps(text: str, declared_secrets: set[str]) -> None:
    """Refuse ssh mounts, per-step networks, insecure steps and undeclared secrets."""
    for instruction in instructions(text):
        step = instruction if len(instruction) <= 120 else instruction[:117] + "..."
        for flag, value in run_flags(instruction):
            reason = _refusal(flag, value, declared_secrets)
            if reason:
                raise BuildFailure("build", f"the step '{step}' is refused: {reason}")


def _refusal(flag: str, value: str, declared: set[str]) -> str | None:
    if flag == "network":
        return ("RUN --network is not allowed: a build's network is set per repository "
                "('network' in lockmaster.yml, 'none' by default)")
    if flag == "security":
        return "RUN --security is not allowed: build steps never run privileged"
    if flag != "mount":
        return None
    options = dict(part.split("=", 1) if "=" in part else (part, "")
                   for part in value.split(","))
    kind = options.get("type", "bind")
    if kind == "ssh":
        return "RUN --mount=type=ssh is not allowed: the worker has no SSH agent to lend"
    if kind == "secret":
        name = options.get("id") or options.get("target", "").rsplit("/", 1)[-1]
        if name not in declared:
            known = ", ".join(sorted(declared)) or "none"
            return (f"the secret '{name}' is not declared for this repository (declared: "
                    f"{known}); add it to 'secrets' in lockmaster.yml, e.g. "
                    f"secrets: [{{id: {name}, env: SOME_VARIABLE}}]")
    return None


def cache_namespace(installation: str, repository: str) -> str:
    """The cache-mount namespace of a repository: its cache mounts are seen by no other."""
    return hashlib.sha256(f"{installation}\0{repository.lower()}".encode()).hexdigest()[:24]


def unguarded_secrets_note(secret_ids: list[str], enabled_gates: frozenset[str]) -> str | None:
    """The build log's warning when a repository's build secrets have no secrets gate behind
    them (it is what catches a step that copies a value into the image)."""
    if not secret_ids or "secrets" in enabled_gates:
        return None
    return (f"warning: the secrets gate is off for this repository, so an image that holds the "
            f"value of the build secret(s) {', '.join(secret_ids)} is not rejected; turn "
            "checks.secrets back on in lockmaster.yml")
