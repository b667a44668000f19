"""RQ job functions: they take a build id, reload the build, and skip finished work."""

from __future__ import annotations

from bootstrap import current_runtime
from builder.pipeline import BuildRun
from ops.jsonlog import build_id_var


def run_build(build_id: str) -> str:
    """Take one build from queued to staged (or record how it ended)."""
    runtime = current_runtime()
    runtime.after_fork()
    token = build_id_var.set(build_id)
    try:
        return BuildRun(runtime, build_id).run()
    finally:
        build_id_var.reset(token)
