"""docker build through BuildKit: Debian's docker CLI 20.10 (`/usr/bin/docker`, DOCKER_BUILDKIT=1)
against the engine's embedded BuildKit, its plain progress read line by line into the build log.
Stopping the CLI ends its session, and the engine then cancels the solve."""

from __future__ import annotations

import base64
import codecs
import contextlib
import ctypes
import json
import os
import re
import signal
import subprocess
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path

from builder.bkrules import MIRROR_ADVICE
from builder.buildlog import BuildLog
from builder.childenv import child_env
from builder.errors import BuildFailure
from builder.image import BuildRequest, BuildStopped
from builder.repofiles import RepositoryFileError, ignore_patterns

DOCKER_CLI = "/usr/bin/docker"
# util-linux's setpriv sets the CLI's parent-death signal and execs it: the worker then starts
# the CLI without running Python in the forked child (a preexec_fn forces a full fork of the
# worker's heap, ~10-25 ms a build; without one Python uses vfork).
SETPRIV = "/usr/bin/setpriv"
_READ_BYTES = 65536
_VERTEX = re.compile(r"^#(\d+) (.*)$")
_DIGEST_LINE = re.compile(r"^#\d+ sha256:[0-9a-f]{64}$")
_EXIT = re.compile(r"^executor failed running \[(.*)\]: exit code: (\d+)$", re.DOTALL)
_PARSE = ("dockerfile parse error", "unknown flag", "unknown instruction")
_OOM_CODE = "137"
_PR_SET_PDEATHSIG = 1


@dataclass(frozen=True)
class BuildKitOptions:
    """What a BuildKit build adds to the request: namespaces, secrets, the frontend."""

    cache_namespace: str
    dockerfile_text: str
    secret_files: dict[str, Path] = field(default_factory=dict)
    syntax_arg: str | None = None
    fell_back: bool = False
    auth: dict | None = None  # the builder robot's, for the mirrored frontend and cache image


def cli_arguments(request: BuildRequest, options: BuildKitOptions, dockerfile: Path,
                  iidfile: Path) -> list[str]:
    """The docker CLI's build command line (no secret value is ever on it: files only)."""
    args = [DOCKER_CLI, "build", "--progress", "plain", "--network", request.network,
            "--iidfile", str(iidfile), "--file", str(dockerfile)]
    if request.target:
        args += ["--target", request.target]
    build_args = {**request.build_args, "BUILDKIT_INLINE_CACHE": "1",
                  "BUILDKIT_CACHE_MOUNT_NS": options.cache_namespace}
    if options.syntax_arg:
        build_args["BUILDKIT_SYNTAX"] = options.syntax_arg
    for name, value in build_args.items():
        args += ["--build-arg", f"{name}={value}"]
    for name, value in sorted(request.labels.items()):
        args += ["--label", f"{name}={value}"]
    for reference in request.cache_from:
        args += ["--cache-from", reference]
    for secret_id, path in sorted(options.secret_files.items()):
        args += ["--secret", f"id={secret_id},src={path}"]
    return [*args, str(request.context)]


def cli_environment(home: Path) -> dict[str, str]:
    """A minimal environment for the CLI (builder/childenv.py: how to reach the engine, never
    the worker's secrets), with a home and a docker config of the build's own."""
    return child_env({"PATH": "/usr/bin:/bin", "HOME": str(home), "DOCKER_BUILDKIT": "1",
                      "DOCKER_CONFIG": str(home / ".docker")})


def _write_auth(folder: Path, auth: dict) -> None:
    """The CLI's config.json with the registry login (0600, removed with the build's folder)."""
    folder.mkdir(mode=0o700)
    token = base64.b64encode(f"{auth['username']}:{auth['password']}".encode()).decode()
    descriptor = os.open(folder / "config.json", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        json.dump({"auths": {auth["serveraddress"]: {"auth": token}}}, handle)


def _die_with_parent() -> None:
    """In the child before exec: SIGKILL it when the worker that started it dies."""
    ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


def _start(args: list[str], env: dict[str, str]) -> subprocess.Popen:
    """The CLI in a session of its own (a warm-shutdown signal to the worker's group lets the
    build finish), SIGKILLed when the worker dies all the same (a lost worker leaves no
    solve): through setpriv where it is, else by a preexec_fn."""
    options = {"env": env, "stdin": subprocess.DEVNULL, "stdout": subprocess.PIPE,
               "stderr": subprocess.STDOUT, "start_new_session": True}
    if os.access(SETPRIV, os.X_OK):
        return subprocess.Popen([SETPRIV, "--pdeathsig", "KILL", "--", *args], **options)
    return subprocess.Popen(args, preexec_fn=_die_with_parent, **options)


class BuildKitBuild:
    """One BuildKit build; `stop()` ends it on the engine (no container, no image is left)."""

    def __init__(self, request: BuildRequest, options: BuildKitOptions, log: BuildLog):
        self.request, self.options, self.log = request, options, log
        self.containers: list[str] = []  # BuildKit's steps are no engine containers
        self.stopped = threading.Event()
        self.process: subprocess.Popen | None = None
        self.steps: dict[str, str] = {}
        self.failed_step: str | None = None
        self.errors: list[str] = []

    def run(self) -> str:
        """Build and return the image id; raise BuildFailure naming the failing step."""
        with tempfile.TemporaryDirectory(prefix="lockmaster-buildkit-") as folder:
            home = Path(folder)
            dockerfile = self._write_dockerfile(home)
            iidfile = home / "iid"
            args = cli_arguments(self.request, self.options, dockerfile, iidfile)
            self.process = _start(args, cli_environment(home))
            if self.stopped.is_set():
                self.stop()
            self._follow(self.process.stdout.fileno())
            code = self.process.wait()
            if self.stopped.is_set():
                raise BuildStopped()
            if code != 0:
                raise BuildFailure("build", self.failure_reason())
            image_id = iidfile.read_text().strip() if iidfile.exists() else ""
        if not image_id:
            raise BuildFailure("build", "docker build ended without producing an image")
        return image_id

    def stop(self) -> None:
        """Kill the CLI: its session ends and the engine cancels the solve and its steps."""
        self.stopped.set()
        process = self.process
        if process is not None and process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)

    def remove_containers(self) -> None:
        """Nothing to remove: BuildKit runs steps outside the engine's containers."""

    def _write_dockerfile(self, home: Path) -> Path:
        """The Dockerfile sent, beside its own .dockerignore, which the CLI reads instead of the
        context's: the context's patterns (read following no link) plus the checkout's `.git`
        (different in every workspace, so `COPY . …` stays cached)."""
        if self.options.auth:
            _write_auth(home / ".docker", self.options.auth)
        dockerfile = home / "Dockerfile"
        dockerfile.write_text(self.options.dockerfile_text)
        try:
            patterns = ignore_patterns(self.request.context)
        except RepositoryFileError as exc:
            raise BuildFailure("build", str(exc)) from exc
        (home / "Dockerfile.dockerignore").write_text("\n".join(patterns) + "\n")
        return dockerfile

    def _follow(self, descriptor: int) -> None:
        """Read the CLI's progress as it comes: each line is logged as soon as it is
        complete, and the lines that arrive together (BuildKit prints a step's lines at once)
        are published in one round trip."""
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        partial = ""
        while chunk := os.read(descriptor, _READ_BYTES):
            *lines, partial = (partial + decoder.decode(chunk)).split("\n")
            self._lines(lines)
        partial += decoder.decode(b"", final=True)
        if partial:
            self._lines([partial])

    def _lines(self, lines: list[str]) -> None:
        kept = [line for line in lines if not _DIGEST_LINE.match(line)]
        self.log.write_lines(kept)
        for line in kept:
            self._line(line)

    def _line(self, line: str) -> None:
        match = _VERTEX.match(line)
        if match is None:
            if line and not line.startswith(("------", " > ")):
                self.errors.append(line)
            return
        vertex, text = match.groups()
        if text.startswith("[") and vertex not in self.steps:
            self.steps[vertex] = text
        elif text.startswith("ERROR: "):
            self.failed_step = self.steps.get(vertex, self.failed_step)
            self.errors.append(text.removeprefix("ERROR: "))

    def failure_reason(self) -> str:
        """Why the build failed, naming the failing step (the build's `error`)."""
        message = self.errors[-1] if self.errors else "the BuildKit build failed"
        where = f" at {self.failed_step}" if self.failed_step else ""
        exited = _EXIT.match(message)
        if exited:
            command, code = exited.groups()
            message = f"The command '{command}' returned a non-zero code: {code}"
            if code == _OOM_CODE and self.request.memory:
                limit = self.request.memory // (1024 * 1024)
                message += (f" (killed: the step used more than the memory limit of {limit}m; "
                            "raise 'memory' for this repository in lockmaster.yml if it needs "
                            "more)")
        elif self.options.syntax_arg and self.options.syntax_arg in message:
            message += (f" (the mirrored frontend {self.options.syntax_arg}, named by "
                        "buildkit.frontend_image in lockmaster.yml, could not be used: push "
                        "it into the registry under that name, e.g. docker pull "
                        "docker/dockerfile:1 and docker push it there)")
        elif self.options.fell_back and any(word in message for word in _PARSE):
            message += (f" (the Dockerfile may need a newer syntax than the built-in frontend "
                        f"knows: {MIRROR_ADVICE})")
        return f"docker build failed{where}: {message}"
