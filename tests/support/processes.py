"""Child processes of a test: a free port to give them, and waiting for what they print."""

from __future__ import annotations

import os
import socket
import time


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def read_until(process, marker: str, timeout: float) -> str:
    """Collect the process's output until a line contains marker (or fail after timeout)."""
    seen, deadline = [], time.monotonic() + timeout
    os.set_blocking(process.stdout.fileno(), False)
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if line:
            seen.append(line)
            if marker in line:
                return "".join(seen)
        elif process.poll() is not None:
            break
        else:
            time.sleep(0.1)
    raise AssertionError(f"no '{marker}' within {timeout}s; output:\n{''.join(seen)}")
