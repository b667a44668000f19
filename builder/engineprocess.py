"""The dockerd process serving the worker's engine, found in /proc, and its cgroup parent (the
rules are builder/engineparent.py's). The worker runs on the engine's host already: it writes
the engine's cgroups."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from builder import engineparent as rules
from builder.engineparent import ParentUnknown

PROC = Path("/proc")
_SOCKET_LINK = re.compile(r"^socket:\[(\d+)\]$")


@dataclass(frozen=True)
class Dockerd:
    """One running dockerd: its pid, command line and config file's text (None: no file), or
    why its config file could not be read."""

    pid: int
    argv: list[str]
    config_text: str | None
    config_error: str | None = None


def worker_socket(environ: dict[str, str] | os._Environ = os.environ) -> str:
    """The engine socket the worker talks to: DOCKER_HOST's unix:// path, else the default."""
    return rules.unix_socket(environ.get("DOCKER_HOST", "")) or rules.DEFAULT_SOCKET


def engine_cgroup_parent(socket: str, proc: Path = PROC) -> str:
    """The cgroup parent of the dockerd serving `socket`; ParentUnknown says why not."""
    engine = serving(socket, proc)
    if engine.config_error:
        raise ParentUnknown(engine.config_error)
    return rules.cgroup_parent(engine.argv, engine.config_text)


def serving(socket: str, proc: Path = PROC) -> Dockerd:
    """The one visible dockerd that listens on `socket` (the same file, seen from its mount
    namespace; by path where it cannot be looked at). Another dockerd that cannot be read, or
    that ended meanwhile, is passed over, never a failure of this engine's build."""
    running = _dockerds(proc)
    if not running:
        raise ParentUnknown(
            "no dockerd process is visible to the worker (is the engine in another container "
            "or pid namespace?), so its --cgroup-parent cannot be read: run the worker in the "
            "engine's host pid namespace (e.g. `pid: host`)")
    wanted = (os.path.realpath(socket), _identity(Path(socket)))
    found, passed = [], []
    for engine in running:
        try:
            if _listens_on(engine, wanted, proc):
                found.append(engine)
        except (OSError, UnicodeDecodeError, ParentUnknown) as exc:  # ended, or unreadable
            passed.append(f"{engine.pid}: {exc}")
    if len(found) != 1:
        pids = ", ".join(str(engine.pid) for engine in (found or running))
        which = "several dockerd processes listen" if found else "no visible dockerd listens"
        unread = f"; not read: {'; '.join(passed)}" if passed and not found else ""
        raise ParentUnknown(f"{which} on {socket} (dockerd pids {pids}{unread}), so the "
                            "engine's --cgroup-parent cannot be read: point DOCKER_HOST at the "
                            "engine's unix socket")
    return found[0]


def _dockerds(proc: Path) -> list[Dockerd]:
    found = []
    for comm in proc.glob("[0-9]*/comm"):
        try:
            if comm.read_text().strip() != "dockerd":
                continue
            argv = (comm.parent / "cmdline").read_bytes().decode().split("\0")[:-1]
        except (OSError, UnicodeDecodeError):  # ended meanwhile, or not one we can read
            continue
        pid = int(comm.parent.name)
        try:
            found.append(Dockerd(pid, argv, _config_text(proc / str(pid), argv)))
        except ParentUnknown as exc:
            found.append(Dockerd(pid, argv, None, str(exc)))
    return sorted(found, key=lambda engine: engine.pid)


def _config_text(process: Path, argv: list[str]) -> str | None:
    """The config file as that process sees it (its root, its working directory)."""
    path = rules.config_file(argv)[0]
    seen = process / "root" / path.lstrip("/") if path.startswith("/") else process / "cwd" / path
    try:
        return seen.read_text()
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise ParentUnknown(f"the engine's config file {path} cannot be read ({exc}), so its "
                            "cgroup-parent is unknown: run the worker as root") from exc


def _listens_on(engine: Dockerd, wanted: tuple[str, tuple[int, int] | None],
                proc: Path) -> bool:
    """Whether engine listens on the wanted socket: the same file (device and inode) seen
    through the engine's own root, else the same path."""
    path, identity = wanted
    if engine.config_error and not rules.flag_values(engine.argv, "host", "H"):
        raise ParentUnknown(engine.config_error)  # its `hosts` may be in the unread file
    root = proc / str(engine.pid) / "root"
    for own in _sockets(engine, proc):
        seen = _identity(root / own.lstrip("/"))
        if identity is not None and seen is not None:
            if seen == identity:
                return True
        elif os.path.realpath(own) == path:
            return True
    return False


def _identity(path: Path) -> tuple[int, int] | None:
    try:
        status = path.stat()
    except OSError:
        return None
    return status.st_dev, status.st_ino


def _sockets(engine: Dockerd, proc: Path) -> set[str]:
    """The unix socket paths the engine listens on; with `-H fd://` (systemd's socket
    activation) those of the listening sockets it holds."""
    addresses = rules.hosts(engine.argv, engine.config_text)
    paths = set(filter(None, map(rules.unix_socket, addresses)))
    if any(address.startswith("fd://") for address in addresses):
        paths |= set(_held_sockets(engine.pid, proc))
    return paths


def _held_sockets(pid: int, proc: Path) -> list[str]:
    """The paths of the listening unix sockets pid holds, from its own network namespace's
    table (the worker's may be another)."""
    listening = {}
    for line in (proc / str(pid) / "net" / "unix").read_text().splitlines()[1:]:
        fields = line.split(maxsplit=7)
        if len(fields) == 8:
            listening[fields[6]] = fields[7]
    held = []
    for descriptor in (proc / str(pid) / "fd").iterdir():
        with_inode = _SOCKET_LINK.match(_link(descriptor))
        if with_inode and with_inode.group(1) in listening:
            held.append(listening[with_inode.group(1)])
    return held


def _link(path: Path) -> str:
    try:
        return os.readlink(path)
    except OSError:
        return ""
