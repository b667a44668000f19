"""Dockerfile text rules: the one LABEL step Lockmaster adds (plain domain code)."""

from __future__ import annotations


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


def _quote(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("$", "\\$")
    return '"' + escaped.replace("\n", " ") + '"'
