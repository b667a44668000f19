"""The engine's cgroup parent from dockerd's argv and config file, as dockerd 20.10 reads them."""

import pytest

from builder.engineparent import (
    ParentUnknown,
    cgroup_parent,
    config_file,
    flag_values,
    hosts,
    unix_socket,
)

DOCKERD = ["/usr/sbin/dockerd", "--bridge=none", "--iptables=false", "--ip-masq=false"]


def test_the_default_is_docker_with_or_without_a_config_file():
    assert cgroup_parent(DOCKERD, None) == "docker"
    assert cgroup_parent(DOCKERD, '{"debug": true}') == "docker"
    assert cgroup_parent(DOCKERD, "") == "docker"  # dockerd reads an empty file as {}
    assert cgroup_parent(DOCKERD, '{"cgroup-parent": ""}') == "docker"


@pytest.mark.parametrize("flags", [
    ["--cgroup-parent=lm-test-parent"],
    ["--cgroup-parent", "lm-test-parent"],
    ["--cgroup-parent", "first", "--cgroup-parent=lm-test-parent"],  # the last one counts
])
def test_the_flag_in_both_forms(flags):
    assert cgroup_parent([*DOCKERD, *flags, "--debug"], None) == "lm-test-parent"


@pytest.mark.parametrize("value, parent", [
    ("/lm-test-parent", "lm-test-parent"),  # BuildKit joins it under "/": same group
    ("lm/nested/", "lm/nested"),
    ("//lm//nested", "lm/nested"),
    ("/a/../lm", "lm"),
    ("/", ""),
])
def test_a_leading_slash_or_a_relative_path_names_the_same_group(value, parent):
    assert cgroup_parent([*DOCKERD, f"--cgroup-parent={value}"], None) == parent


def test_the_config_file_sets_it_when_the_flag_does_not():
    assert cgroup_parent(DOCKERD, '{"cgroup-parent": "/from-file"}') == "from-file"
    assert cgroup_parent(DOCKERD, '\ufeff{"cgroup-parent": "bom"}\n') == "bom"


def test_a_flag_also_set_in_the_config_file_is_not_guessed():
    with pytest.raises(ParentUnknown, match=r"also set in its config file "
                                            r"/etc/docker/daemon.json \('from-file'\)"):
        cgroup_parent([*DOCKERD, "--cgroup-parent=flag"], '{"cgroup-parent": "from-file"}')
    with pytest.raises(ParentUnknown, match="restart the engine"):  # even when they agree
        cgroup_parent([*DOCKERD, "--cgroup-parent=same"], '{"cgroup-parent": "same"}')


def test_a_custom_config_file():
    argv = [*DOCKERD, "--config-file", "/srv/engine.json"]
    assert config_file(argv) == ("/srv/engine.json", True)
    assert config_file(DOCKERD) == ("/etc/docker/daemon.json", False)
    assert cgroup_parent(argv, '{"cgroup-parent": "custom"}') == "custom"
    assert cgroup_parent([*DOCKERD, "--config-file=/srv/engine.json"], "{}") == "docker"
    with pytest.raises(ParentUnknown, match=r"/srv/engine.json \(its --config-file\) is gone"):
        cgroup_parent(argv, None)


@pytest.mark.parametrize("text, reason", [
    ("{not json", "is not valid JSON"),
    ('["cgroup-parent"]', "is not a JSON object"),
    ('{"cgroup-parent": 7}', "'cgroup-parent' in the engine's config file .* is not a string"),
])
def test_a_config_file_dockerd_could_not_have_read_is_not_guessed(text, reason):
    with pytest.raises(ParentUnknown, match=reason):
        cgroup_parent(DOCKERD, text)


def test_a_systemd_slice_is_not_a_cgroupfs_parent():
    with pytest.raises(ParentUnknown, match="systemd slice"):
        cgroup_parent([*DOCKERD, "--cgroup-parent=lm.slice:"], None)


def test_flag_values_in_pflags_forms():
    argv = ["dockerd", "-H", "unix:///a", "-H=unix:///b", "-Hunix:///c", "--host", "fd://",
            "--host=tcp://127.0.0.1:2375", "--", "--host=ignored"]
    assert flag_values(argv, "host", "H") == ["unix:///a", "unix:///b", "unix:///c", "fd://",
                                              "tcp://127.0.0.1:2375"]


def test_hosts_come_from_the_flags_the_config_or_the_default():
    assert hosts(DOCKERD, None) == ["unix:///var/run/docker.sock"]
    assert hosts(DOCKERD, '{"hosts": ["unix:///srv/d.sock"]}') == ["unix:///srv/d.sock"]
    assert hosts([*DOCKERD, "-H", "fd://"], None) == ["fd://"]
    assert [unix_socket(url) for url in ("unix:///srv/d.sock", "unix://", "tcp://1.2.3.4:1")] \
        == ["/srv/d.sock", "/var/run/docker.sock", None]
