"""The external tools the gates run (syft, hadolint), found beside Lockmaster's Python."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from builder.checks.base import GateError
from builder.childenv import child_env

# syft must never reach out: no update check, no vulnerability database download.
OFFLINE_ENV = {"SYFT_CHECK_FOR_APP_UPDATE": "false", "GRYPE_DB_AUTO_UPDATE": "false"}


def tool_path(name: str) -> str:
    """The path of a tool installed with Lockmaster's Python packages (or on PATH)."""
    found = shutil.which(name, path=str(Path(sys.executable).parent)) or shutil.which(name)
    if not found:
        raise GateError(f"{name} is not installed; run scripts/prereqs.sh to install the "
                        f"Python packages that ship it")
    return found


def run_tool(args: list[str], timeout: float, cwd: Path | None = None) -> \
        subprocess.CompletedProcess:
    """Run a tool offline with a timeout; raise GateError if it cannot run or times out."""
    env = child_env(OFFLINE_ENV)  # never the worker's own secrets
    try:
        return subprocess.run([tool_path(args[0]), *args[1:]], capture_output=True, text=True,
                              timeout=timeout, cwd=cwd, env=env, check=False)
    except subprocess.TimeoutExpired as exc:
        raise GateError(f"{args[0]} did not finish within {timeout:.0f} s") from exc
    except OSError as exc:
        raise GateError(f"{args[0]} could not be started: {exc}") from exc
