"""Build isolation rules: memory sizes, CPUs, network modes, build args and placeholders."""

import pytest

from config.isolation import (
    Commit,
    IsolationError,
    check_build_args,
    check_network,
    cpu_quota,
    parse_cpus,
    parse_memory,
    parse_pids,
    substitute,
)


@pytest.mark.parametrize(("text", "size"), [("512m", 512 * 1024**2), ("1g", 1024**3),
                                            ("64MB", 64 * 1024**2), (10485760, 10485760),
                                            ("8192k", 8 * 1024**2)])
def test_memory_sizes(text, size):
    assert parse_memory(text) == size


@pytest.mark.parametrize("text", ["lots", "12x", "-5m", "1m", ""])
def test_bad_memory_sizes_are_explained(text):
    with pytest.raises(IsolationError, match=r"memory size|minimum"):
        parse_memory(text)


def test_process_limits_are_whole_numbers_of_at_least_16():
    assert parse_pids(64) == 64
    for bad in (15, 0, -1, "many", 1.5, True):
        with pytest.raises(IsolationError, match="not a process limit"):
            parse_pids(bad)


def test_cpus_become_a_cfs_quota():
    assert parse_cpus(1.5) == 1.5
    assert cpu_quota(1.5) == {"cpuperiod": 100_000, "cpuquota": 150_000}
    for bad in (0, -1, "two", True):
        with pytest.raises(IsolationError, match="positive number of CPUs"):
            parse_cpus(bad)


def test_only_none_and_default_networks_are_allowed():
    assert check_network("none") == "none" and check_network("default") == "default"
    with pytest.raises(IsolationError, match="'host' is not allowed"):
        check_network("host")


@pytest.mark.parametrize("name", ["GITHUB_TOKEN", "db_password", "AppSecret", "NPM_TOKEN_RO"])
def test_secret_looking_build_args_are_refused_pointing_at_the_secrets_check(name):
    with pytest.raises(IsolationError, match=r"looks like a secret.*secrets check"):
        check_build_args({name: "x"})


def test_unknown_placeholders_are_refused():
    with pytest.raises(IsolationError, match=r"uses \{branch\}"):
        check_build_args({"B": "{branch}"})


def test_placeholders_are_substituted():
    commit = Commit(sha="a" * 40, short_sha="a" * 12, ref="refs/tags/v1", version="v1")
    args = check_build_args({"V": "{version}-{short_sha}", "R": "{ref}", "L": "{{sha}}"})
    assert substitute(args, commit) == {"V": f"v1-{'a' * 12}", "R": "refs/tags/v1",
                                        "L": "{sha}"}
