"""BuildKit rules: refused steps, secrets, `# syntax=`, cache namespaces, the CLI's arguments."""

import base64
from pathlib import Path

import pytest

from builder.bkrules import cache_namespace, check_run_steps, frontend
from builder.buildkit import BuildKitBuild, BuildKitOptions, cli_arguments, cli_environment
from builder.checks.masking import find_values
from builder.errors import BuildFailure
from builder.gc import cache_to_keep
from builder.image import BuildRequest
from config import ConfigError, parse_config
from config.isolation import IsolationError, check_build_args


@pytest.mark.parametrize("step, reason", [
    ("RUN --mount=type=ssh git clone x", "type=ssh is not allowed"),
    ("RUN --network=host wget x", "RUN --network is not allowed"),
    ("RUN --security=insecure id", "RUN --security is not allowed"),
    ("RUN --mount=type=secret,id=npm true", "the secret 'npm' is not declared"),
    ("RUN --mount=type=cache,target=/c \\\n    --mount=type=ssh true", "type=ssh"),
])
def test_refused_steps_name_the_step_and_the_reason(step, reason):
    with pytest.raises(BuildFailure, match=reason):
        check_run_steps(f"FROM x\n{step}\n", {"pip-conf"})


def test_allowed_mounts_and_declared_secrets_pass():
    check_run_steps("FROM x\nRUN --mount=type=secret,id=pip-conf --mount=type=cache,target=/c "
                    "--mount=type=bind,source=a,target=/a --mount=type=tmpfs,target=/t true\n"
                    "RUN echo --network=host\n", {"pip-conf"})


def test_syntax_lines():
    assert frontend("FROM x\n", None, False).dockerfile == "FROM x\n"
    fallback = frontend("# syntax=docker/dockerfile:1.4\nFROM x\n", None, False)
    assert fallback.fell_back and fallback.dockerfile == "#\nFROM x\n"
    assert "built-in" in fallback.note
    mirrored = frontend("# syntax=docker/dockerfile:1\nFROM x\n", "reg:5000/m/df:1", False)
    assert mirrored.syntax_arg == "reg:5000/m/df:1" and not mirrored.fell_back
    with pytest.raises(BuildFailure, match=r"buildkit\.frontend_image"):
        frontend("# syntax=docker/dockerfile:2-labs\nFROM x\n", None, False)
    assert frontend("# syntax=acme/df:9\nFROM x\n", None, True).syntax_arg is None
    with pytest.raises(BuildFailure, match="acme/df:9"):  # the mirror stands for docker's only
        frontend("# syntax=acme/df:9\nFROM x\n", "reg:5000/m/df:1", False)


def test_cache_namespaces_differ_per_repository_and_installation():
    names = {cache_namespace("reg/staging/a", "acme/a"), cache_namespace("reg/staging/b", "acme/b"),
             cache_namespace("other/staging/a", "acme/a")}
    assert len(names) == 3


def test_buildkit_build_args_are_refused():
    with pytest.raises(IsolationError, match="BUILDKIT_"):
        check_build_args({"BUILDKIT_CACHE_MOUNT_NS": "theirs"})


def test_the_cli_gets_files_labels_and_a_minimal_environment(monkeypatch):
    monkeypatch.setenv("LOCKMASTER_SECRET_KEY", "worker-only")
    request = BuildRequest(context=Path("/w/ctx"), dockerfile=Path("/w/Dockerfile"),
                           dockerfile_text="FROM x\n",
                           labels={"io.lockmaster.build-id": "b1"}, build_args={"A": "1"},
                           target="app", cache_from=["reg/staging/a:main"])
    options = BuildKitOptions("ns1", "FROM x\n", {"pip-conf": Path("/dev/shm/s/pip-conf")})
    args = cli_arguments(request, options, Path("/t/Dockerfile"), Path("/t/iid"))
    assert args[0] == "/usr/bin/docker" and args[-1] == "/w/ctx"
    joined = " ".join(args)
    for part in ("--network none", "--target app", "--label io.lockmaster.build-id=b1",
                 "--build-arg BUILDKIT_CACHE_MOUNT_NS=ns1", "--cache-from reg/staging/a:main",
                 "--secret id=pip-conf,src=/dev/shm/s/pip-conf", "--build-arg A=1"):
        assert part in joined
    env = cli_environment(Path("/t"))
    assert env["DOCKER_BUILDKIT"] == "1" and "LOCKMASTER_SECRET_KEY" not in env


def test_a_build_secret_is_found_verbatim_or_base64():
    named = {"tok": "s3cret-value-1234"}
    assert find_values(b"x s3cret-value-1234 y", named)[0].kind == "build secret 'tok'"
    assert find_values(base64.b64encode(b"s3cret-value-1234") + b"\n", named)
    assert find_values(b"nothing here", named) == []


PIP_CONF = ("[global]\nindex-url = https://build:pa55-w0rd-7f3a9c1e@pypi.internal.example"
            "/simple\n")  # a realistic secret: longer than one line of `base64` output


@pytest.mark.parametrize("around", [b"", b"x", b"xy", b"[global]\n", b"token: "],
                         ids=["alone", "offset-1", "offset-2", "after-text", "after-label"])
@pytest.mark.parametrize("after", [b"", b"\n", b"trailing text"], ids=["end", "newline", "text"])
def test_a_build_secret_is_found_base64_at_any_offset_and_wrapped(around, after):
    named = {"pip-conf": PIP_CONF}
    encoded = base64.encodebytes(around + PIP_CONF.encode() + after)  # wrapped at 76, as base64
    assert b"\n" in encoded.rstrip(b"\n")
    assert find_values(b"\x00layer bytes\n" + encoded, named), (around, after)
    url_safe = base64.urlsafe_b64encode(around + PIP_CONF.encode() + after)
    assert find_values(url_safe, named), (around, after)


def test_base64_of_other_text_is_not_taken_for_a_build_secret():
    named = {"pip-conf": PIP_CONF}
    other = PIP_CONF.replace("pa55-w0rd-7f3a9c1e", "another-password")
    for offset in range(3):
        assert find_values(base64.encodebytes(b"x" * offset + other.encode()), named) == []
    assert find_values(b"", {"none": ""}) == []


def test_build_cache_is_pruned_only_over_its_bound():
    assert cache_to_keep(0, 50 << 30) is None
    assert cache_to_keep(10, 9 << 30) is None
    assert cache_to_keep(10, 11 << 30) == 10 << 30


REPO = """\
repositories:
  - name: acme/web
    provider: github
    secret_env: S
"""


def test_builder_secrets_and_pool_are_read_and_checked():
    _registry, repos, limits = parse_config(
        REPO + "    builder: buildkit\n    pool: tenant-a\n"
               "    secrets: [{id: pip-conf, env: PIP_CONF_CONTENT}]\n"
               "buildkit: {frontend_image: reg/mirror/dockerfile:1}\n"
               "gc: {build_cache_max_gb: 20}\n")
    repo = repos[0]
    assert (repo.builder, repo.pool, repo.secrets[0].id, repo.secrets[0].env) == \
        ("buildkit", "tenant-a", "pip-conf", "PIP_CONF_CONTENT")
    assert limits["frontend_image"] == "reg/mirror/dockerfile:1"
    assert limits["gc"].build_cache_max_gb == 20
    assert parse_config(REPO + "    builder: legacy\n")[1][0].builder == "legacy"
    with pytest.raises(ConfigError, match="needs the BuildKit builder"):
        parse_config(REPO + "    builder: legacy\n    secrets: [{id: a, env: B}]\n")
    with pytest.raises(ConfigError, match="never from this file"):
        parse_config(REPO + "    secrets: [{id: x, value: hunter2}]\n")
    with pytest.raises(ConfigError, match="builder"):
        parse_config(REPO + "    builder: kaniko\n")


def test_secret_files_are_private_on_a_tmpfs_and_gone_after(tmp_path):
    from builder.bksecrets import TMPFS, secret_files, secret_values
    from config.bksettings import BuildSecret

    with pytest.raises(BuildFailure, match="set NOT_SET_ANYWHERE in the worker's environment"):
        secret_values((BuildSecret("a", "NOT_SET_ANYWHERE"),), {})
    values = secret_values((BuildSecret("pip-conf", "PIP"),), {"PIP": "v4lue"})
    with secret_files(values) as files:
        path = files["pip-conf"]
        assert path.read_text() == "v4lue" and path.stat().st_mode & 0o777 == 0o600
        assert path.parent.parent == TMPFS and path.parent.stat().st_mode & 0o777 == 0o700
    assert not path.parent.exists()
    # A worker whose /dev/shm is no tmpfs: the build fails, nothing is written to disk.
    disk = tmp_path / "disk"
    disk.mkdir()
    mounts = tmp_path / "mounts"
    mounts.write_text(f"/dev/vda / ext4 rw 0 0\ntmpfs /dev/shm tmpfs rw 0 0\n"
                      f"/dev/vdb {disk} ext4 rw 0 0\n")
    with pytest.raises(BuildFailure, match=f"{disk} is not one on this worker"), \
            secret_files(values, root=disk, mounts=mounts):
        pass
    assert list(disk.iterdir()) == []
    with pytest.raises(BuildFailure, match="is not one"), \
            secret_files(values, root=tmp_path / "missing", mounts=mounts):
        pass


def test_a_mirrored_frontend_is_passed_as_buildkit_syntax_and_named_when_it_fails():
    request = BuildRequest(context=Path("/w/ctx"), dockerfile=Path("/w/Dockerfile"),
                           dockerfile_text="FROM x\n", labels={}, build_args={})
    options = BuildKitOptions("ns1", "FROM x\n", syntax_arg="reg:5000/m/df:1")
    args = cli_arguments(request, options, Path("/t/Dockerfile"), Path("/t/iid"))
    assert "BUILDKIT_SYNTAX=reg:5000/m/df:1" in args
    build = BuildKitBuild(request, options, log=None)
    build.errors.append("failed to solve with frontend dockerfile.v0: failed with "
                        "build-arg:BUILDKIT_SYNTAX = reg:5000/m/df:1: not found")
    assert "buildkit.frontend_image" in build.failure_reason()


def test_build_secrets_without_the_secrets_gate_are_named_in_a_warning():
    from builder.bkrules import unguarded_secrets_note

    assert unguarded_secrets_note(["pip-conf"], frozenset({"secrets", "lint"})) is None
    assert unguarded_secrets_note([], frozenset()) is None
    note = unguarded_secrets_note(["pip-conf", "npm"], frozenset({"lint"}))
    assert note.startswith("warning: the secrets gate is off") and "pip-conf, npm" in note


def test_a_short_build_secret_is_found_base64_inside_a_docker_auth():
    named = {"registry-password": "Tr0ub4dor"}  # 9 bytes, after "bot:" in the encoded text
    auth = base64.b64encode(b"bot:Tr0ub4dor")
    assert find_values(b'{"auths": {"reg.example.com": {"auth": "' + auth + b'"}}}', named)
    other = base64.b64encode(b"bot:Sw0rdf1sh")
    assert find_values(b'{"auth": "' + other + b'"}', named) == []
