"""Dockerfile text rules: the labels Lockmaster adds, and the closing settings one commit can
apply together with them (plain domain code)."""

from __future__ import annotations

import re

# Instructions that only change the image config and that `docker commit --change` applies
# as a build step would (WORKDIR would not create its folder; ONBUILD, SHELL, HEALTHCHECK… are
# not accepted by commit).
COMMITTABLE = frozenset({"CMD", "ENTRYPOINT", "EXPOSE", "LABEL", "ENV", "USER"})
_ESCAPE_DIRECTIVE = re.compile(r"^\s*#\s*escape\s*=", re.IGNORECASE | re.MULTILINE)


def label_instruction(labels: dict[str, str]) -> str:
    """One LABEL instruction setting every label, quoted so no value is expanded."""
    return "LABEL " + " ".join(f"{_quote(key)}={_quote(value)}"
                               for key, value in sorted(labels.items()))


def with_labels(dockerfile: str, labels: dict[str, str]) -> str:
    """The Dockerfile with the labels set by a last step of its last stage.

    The engine's own `labels` option costs one step (and one container) per label; a single
    appended instruction costs one. A trailing line continuation cannot swallow it.
    """
    return dockerfile.rstrip("\n").rstrip("\\") + "\n" + label_instruction(labels) + "\n"


def split_settings(dockerfile: str) -> tuple[str, list[str]]:
    """The Dockerfile without the one-line settings that close it, and those settings.

    Each closing CMD, EXPOSE… is one build step (one container) of its own; split off, they
    are applied by one commit together with the labels. Only a tail that sets CMD, uses no
    variables and follows no line continuation is split (else the result is (text, []))."""
    lines = dockerfile.rstrip("\n").split("\n")
    if _ESCAPE_DIRECTIVE.search(dockerfile):
        return dockerfile, []
    end = len(lines)
    settings: list[str] = []
    for index in range(len(lines) - 1, -1, -1):
        text = lines[index].strip()
        if not text or text.startswith("#"):
            continue
        if not _committable(text) or _continued(lines, index):
            break
        settings.insert(0, text)
        end = index
    if not any(_keyword(setting) == "CMD" for setting in settings):
        return dockerfile, []
    return "\n".join(lines[:end]) + "\n", settings


def _committable(text: str) -> bool:
    return _keyword(text) in COMMITTABLE and "$" not in text and not text.endswith("\\")


def _continued(lines: list[str], index: int) -> bool:
    """True if line `index` continues the instruction of an earlier line."""
    for earlier in reversed(lines[:index]):
        text = earlier.strip()
        if text and not text.startswith("#"):
            return text.endswith("\\")
    return False


def _keyword(text: str) -> str:
    return text.split(None, 1)[0].upper()


def _quote(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("$", "\\$")
    return '"' + escaped.replace("\n", " ") + '"'
