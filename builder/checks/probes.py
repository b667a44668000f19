"""Running the image for regression tests: no network, limits, timeouts, always removed."""

from __future__ import annotations

import contextlib
import re
import shlex
import time
from dataclasses import dataclass

from docker.errors import APIError, DockerException
from requests.exceptions import ConnectionError as RequestsConnectionError
from requests.exceptions import ReadTimeout

MAX_OUTPUT = 16_000
_STATUS = re.compile(r"HTTP/\S+ (\d{3})")


@dataclass(frozen=True)
class Limits:
    """What a test container may use, and the label that marks it as ours."""

    memory_mb: int
    cpus: float
    label: dict[str, str]

    def run_options(self) -> dict:
        """docker run options for a confined test container."""
        return {"detach": True, "mem_limit": f"{self.memory_mb}m", "pids_limit": 256,
                "nano_cpus": int(self.cpus * 1e9), "labels": self.label}


@dataclass
class Run:
    """How a container run ended."""

    exit_code: int | None
    output: str
    timed_out: bool = False


def argv(command: str | list) -> list[str]:
    """A test command as argv (a string runs under /bin/sh -c)."""
    return ["/bin/sh", "-c", command] if isinstance(command, str) else [str(c) for c in command]


def run_command(client, image: str, command: list[str], limits: Limits, timeout: float,
                **options) -> Run:
    """Run command in a new container of image; kill it at the timeout; always remove it."""
    options.setdefault("network_mode", "none")
    container = client.containers.create(image, entrypoint=command[:1], command=command[1:],
                                         **{k: v for k, v in limits.run_options().items()
                                            if k != "detach"}, **options)
    try:
        container.start()
        return _wait(container, timeout)
    finally:
        _remove(container)


def _wait(container, timeout: float) -> Run:
    timed_out, code = False, None
    try:
        code = container.wait(timeout=timeout)["StatusCode"]
    except (ReadTimeout, RequestsConnectionError):
        timed_out = True
        _quietly(container.kill)
    output = container.logs(stdout=True, stderr=True).decode(errors="replace")
    return Run(code, output[-MAX_OUTPUT:], timed_out)


def start_service(client, image: str, command: str | list | None, limits: Limits):
    """Start the image as a service with no network but its own loopback."""
    options = {"network_mode": "none", **limits.run_options()}
    if command is not None:
        options.update(entrypoint=argv(command)[:1], command=argv(command)[1:])
    return client.containers.run(image, **options)


def wait_healthy(container, deadline: float) -> str:
    """Poll the container's healthcheck until healthy, stopped or the deadline; returns state."""
    while True:
        container.reload()
        state = container.attrs["State"]
        health = (state.get("Health") or {}).get("Status", "none")
        if health == "healthy" or not state.get("Running") or time.monotonic() > deadline:
            return health if state.get("Running") else f"exited ({state.get('ExitCode')})"
        time.sleep(0.3)


def probe_script(port: int, paths: list[str], wait_seconds: float, wait_port: bool) -> str:
    """A busybox sh script that waits for the port, then requests each path over loopback."""
    lines = ["mkdir -p /tmp"]
    if wait_port:
        tries = max(1, int(wait_seconds / 0.2))
        lines += [f"i=0; while ! grep -qE ':{port:04X} [0-9A-F]+:0000 0A' /proc/net/tcp "
                  f"/proc/net/tcp6 2>/dev/null; do i=$((i+1)); "
                  f"if [ $i -gt {tries} ]; then echo @@NOT_LISTENING; exit 3; fi; sleep 0.2; done",
                  "echo @@LISTENING"]
    for path in paths:
        url = shlex.quote(f"http://127.0.0.1:{port}/{path.lstrip('/')}")
        lines += ["echo @@REQUEST", "rm -f /tmp/b /tmp/h",
                  # busybox wget's own -T crashes in the static build; timeout(1) bounds it.
                  f"timeout 10 wget -S -O /tmp/b {url} 2>/tmp/h; echo \"@@EXIT $?\"",
                  "grep -m1 'HTTP/' /tmp/h", "echo @@BODY", "head -c 4000 /tmp/b 2>/dev/null",
                  "echo", "echo @@END"]
    return "\n".join(lines) + "\n"


def parse_probe(output: str) -> tuple[bool, list[dict]]:
    """(listening?, one {status, body} per request) from the probe script's output."""
    listening = "@@NOT_LISTENING" not in output
    answers = []
    for block in output.split("@@REQUEST")[1:]:
        head, _, rest = block.partition("@@BODY")
        body = rest.partition("@@END")[0].strip("\n")
        status = _STATUS.search(head)
        answers.append({"status": int(status.group(1)) if status else None, "body": body})
    return listening, answers


def remove_labelled(client, label: dict[str, str]) -> None:
    """Remove every container that carries this exact label (ours, left by a crash)."""
    key, value = next(iter(label.items()))
    for container in client.containers.list(all=True, filters={"label": f"{key}={value}"}):
        _remove(container)


def _remove(container) -> None:
    _quietly(lambda: container.remove(force=True))


def _quietly(action) -> None:
    with contextlib.suppress(APIError, DockerException):
        action()
