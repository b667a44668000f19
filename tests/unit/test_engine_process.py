"""Finding the dockerd that serves the worker's engine, in a /proc made for the test."""

import os
from pathlib import Path

import pytest

from builder.engineparent import ParentUnknown
from builder.engineprocess import engine_cgroup_parent, worker_socket


def _process(proc: Path, pid: int, argv: list[str], comm: str = "dockerd",
             config: str | None = None) -> Path:
    folder = proc / str(pid)
    (folder / "root" / "etc" / "docker").mkdir(parents=True)
    (folder / "fd").mkdir()
    (folder / "comm").write_text(f"{comm}\n")
    (folder / "cmdline").write_bytes(b"".join(arg.encode() + b"\0" for arg in argv))
    if config is not None:
        (folder / "root" / "etc" / "docker" / "daemon.json").write_text(config)
    return folder


@pytest.fixture
def proc(tmp_path) -> Path:
    folder = tmp_path / "proc"
    (folder / "net").mkdir(parents=True)
    (folder / "net" / "unix").write_text("Num RefCount Protocol Flags Type St Inode Path\n")
    return folder


def test_the_dockerd_named_by_its_host_flag_is_the_one(proc, tmp_path):
    socket = str(tmp_path / "engine.sock")
    _process(proc, 10, ["/usr/sbin/dockerd"])  # the machine's engine, default socket
    _process(proc, 11, ["dockerd", "-H", f"unix://{socket}", "--cgroup-parent=lm-test-parent"])
    _process(proc, 12, ["containerd", "--cgroup-parent=other"], comm="containerd")
    assert engine_cgroup_parent(socket, proc) == "lm-test-parent"
    assert engine_cgroup_parent("/var/run/docker.sock", proc) == "docker"


def test_the_config_file_is_read_as_dockerd_sees_it(proc):
    _process(proc, 10, ["dockerd"], config='{"cgroup-parent": "from-file"}')
    assert engine_cgroup_parent("/var/run/docker.sock", proc) == "from-file"


def test_a_socket_activated_engine_is_found_by_the_socket_it_holds(proc, tmp_path):
    socket = tmp_path / "docker.sock"
    folder = _process(proc, 10, ["dockerd", "-H", "fd://", "--cgroup-parent", "systemd-run"])
    (folder / "net").mkdir()  # the engine's own network namespace's table, not the worker's
    (folder / "net" / "unix").write_text(
        "Num RefCount Protocol Flags Type St Inode Path\n"
        f"0000: 00000002 00000000 00010000 0001 01 4242 {socket}\n")
    os.symlink("socket:[4242]", folder / "fd" / "3")
    os.symlink("/dev/null", folder / "fd" / "0")
    assert engine_cgroup_parent(str(socket), proc) == "systemd-run"


def test_no_visible_dockerd_is_said_not_guessed(proc):
    _process(proc, 10, ["containerd"], comm="containerd")
    with pytest.raises(ParentUnknown, match="no dockerd process is visible to the worker"):
        engine_cgroup_parent("/var/run/docker.sock", proc)


def test_no_dockerd_on_the_socket_or_several_are_said_not_guessed(proc):
    _process(proc, 10, ["dockerd", "-H", "unix:///srv/a.sock"])
    with pytest.raises(ParentUnknown, match=r"no visible dockerd listens on /srv/b.sock "
                                            r"\(dockerd pids 10\)"):
        engine_cgroup_parent("/srv/b.sock", proc)
    _process(proc, 11, ["dockerd", "--host=unix:///srv/a.sock"])
    with pytest.raises(ParentUnknown, match=r"several dockerd processes listen on /srv/a.sock "
                                            r"\(dockerd pids 10, 11\)"):
        engine_cgroup_parent("/srv/a.sock", proc)


def test_the_workers_socket():
    assert worker_socket({}) == "/var/run/docker.sock"
    assert worker_socket({"DOCKER_HOST": "unix:///tmp/lm-engine-x/docker.sock"}) \
        == "/tmp/lm-engine-x/docker.sock"


def test_a_dockerd_that_cannot_be_read_is_passed_over(proc, tmp_path):
    socket = str(tmp_path / "engine.sock")
    gone = _process(proc, 9, ["dockerd", "-H", "fd://"])  # ended: no fd folder, no net table
    gone.joinpath("fd").rmdir()
    broken = _process(proc, 10, ["dockerd"], config="{not json")  # its hosts are unknown
    assert broken.exists()
    _process(proc, 11, ["dockerd", "-H", f"unix://{socket}", "--cgroup-parent=ours"])
    assert engine_cgroup_parent(socket, proc) == "ours"
    with pytest.raises(ParentUnknown, match=r"not read: 9: .*; 10: .*not valid JSON"):
        engine_cgroup_parent("/srv/elsewhere.sock", proc)


def test_the_same_socket_file_is_found_through_the_engines_own_root(proc, tmp_path):
    """An engine in another mount namespace names the socket by its own path."""
    real = tmp_path / "host-run" / "docker.sock"
    real.parent.mkdir()
    real.write_text("")  # stands for the socket file
    folder = _process(proc, 10, ["dockerd", "-H", "unix:///run/docker.sock",
                                 "--cgroup-parent=namespaced"])
    (folder / "root" / "run").symlink_to(real.parent)
    assert engine_cgroup_parent(str(real), proc) == "namespaced"
    impostor = _process(proc, 11, ["dockerd", "-H", f"unix://{real}", "--cgroup-parent=no"])
    (impostor / "root" / real.parent.relative_to("/")).mkdir(parents=True)
    (impostor / "root" / real.relative_to("/")).write_text("")  # another file, same path
    assert engine_cgroup_parent(str(real), proc) == "namespaced"
