"""The engine's cgroup parent, read from dockerd's command line and config file as dockerd 20.10
reads them (cgroupfs driver). Pure: finding the dockerd process is builder/engineprocess.py."""

from __future__ import annotations

import json
import posixpath

DEFAULT_PARENT = "docker"  # dockerd's --cgroup-parent with the cgroupfs driver
DEFAULT_CONFIG_FILE = "/etc/docker/daemon.json"
DEFAULT_SOCKET = "/var/run/docker.sock"
KEY = "cgroup-parent"


class ParentUnknown(Exception):
    """The engine's cgroup parent cannot be told; the message says why and what to do."""


def flag_values(argv: list[str], name: str, short: str | None = None) -> list[str]:
    """Every value given to a flag, in order, in pflag's forms: `--name=v`, `--name v`, and
    with a shorthand `-s v`, `-s=v`, `-sv`."""
    values, args = [], iter(argv[1:])
    for arg in args:
        if arg == "--":
            break
        if arg == f"--{name}" or (short and arg == f"-{short}"):
            values.append(next(args, ""))
        elif arg.startswith(f"--{name}="):
            values.append(arg.partition("=")[2])
        elif short and arg.startswith(f"-{short}"):
            values.append(arg[2:].removeprefix("="))
    return values


def config_file(argv: list[str]) -> tuple[str, bool]:
    """The config file dockerd read, and whether --config-file named it (then it must exist)."""
    given = flag_values(argv, "config-file")
    return (given[-1], True) if given else (DEFAULT_CONFIG_FILE, False)


def daemon_config(argv: list[str], text: str | None) -> dict:
    """The config file's settings; `text` is None when the file does not exist."""
    path, named = config_file(argv)
    if text is None:
        if named:
            raise ParentUnknown(
                f"the engine's config file {path} (its --config-file) is gone; dockerd does "
                "not start without it, so it changed after the engine started: restore it or "
                "restart the engine")
        return {}
    text = text.removeprefix("\ufeff").strip()
    try:
        settings = json.loads(text) if text else {}
    except ValueError as exc:
        raise ParentUnknown(f"the engine's config file {path} is not valid JSON ({exc}): "
                            "fix it, then restart the engine") from exc
    if not isinstance(settings, dict):
        raise ParentUnknown(f"the engine's config file {path} is not a JSON object: fix it, "
                            "then restart the engine")
    return settings


def cgroup_parent(argv: list[str], config_text: str | None) -> str:
    """The cgroup (relative to each hierarchy's root) under whose `buildkit` group the engine's
    BuildKit runs every step, given dockerd's argv and its config file's text (or None)."""
    settings = daemon_config(argv, config_text)
    flags = flag_values(argv, KEY)
    path = config_file(argv)[0]
    if flags and KEY in settings:
        # dockerd refuses to start with a setting both as a flag and in the file.
        raise ParentUnknown(
            f"the engine's --cgroup-parent ({flags[-1]!r}) is also set in its config file "
            f"{path} ({settings[KEY]!r}); dockerd does not start so, so the file changed after "
            "the engine started: keep one of the two and restart the engine")
    value = flags[-1] if flags else settings.get(KEY, "")
    if not isinstance(value, str):
        raise ParentUnknown(f"'{KEY}' in the engine's config file {path} is not a string: fix "
                            "it, then restart the engine")
    return buildkit_parent(value or DEFAULT_PARENT)


def buildkit_parent(value: str) -> str:
    """BuildKit runs steps in filepath.Join("/", value, "buildkit", id): a leading slash, `.`,
    `..` and doubled slashes change nothing beyond what that join makes of them."""
    if ".slice" in value and value.endswith(":"):
        raise ParentUnknown(f"the engine's cgroup parent {value!r} is a systemd slice, where "
                            "BuildKit has no `buildkit` group to limit: use a cgroupfs path")
    return posixpath.normpath("/" + value).lstrip("/")


def hosts(argv: list[str], config_text: str | None) -> list[str]:
    """The addresses dockerd listens on (-H/--host, else the config's `hosts`, else its
    default unix socket)."""
    given = flag_values(argv, "host", "H") or daemon_config(argv, config_text).get("hosts", [])
    return list(given) or [f"unix://{DEFAULT_SOCKET}"]


def unix_socket(url: str) -> str | None:
    """The socket path of a unix:// address (a bare `unix://` is dockerd's default), or None."""
    if not url.startswith("unix://"):
        return None
    return url.removeprefix("unix://") or DEFAULT_SOCKET
