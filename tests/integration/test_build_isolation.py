"""Build settings and isolation against the real engine: args, targets, contexts, limits."""

import re
import subprocess
import uuid

import pytest

from tests.support.buildhelpers import (
    assert_no_step_left,
    build_of,
    push,
    started_containers,
    step_was_cached,
)
from tests.support.stack import registry_get, repo_entry, work


def _run(make_app, source_repo, secret, files: dict[str, str], **config):
    source_repo.commit(files, "Change the build")
    app = make_app([repo_entry(source_repo, **config)])
    client = app.test_client()
    build_id = push(client, source_repo, secret)
    work(app)
    build = build_of(client, build_id)
    return build, client.get(f"/api/v1/builds/{build_id}/log").text


def test_build_args_are_substituted_and_recorded(make_app, source_repo, secret, base_image):
    dockerfile = (f"FROM {base_image}\nARG VERSION\nARG REF\nARG PLAIN\n"
                  'RUN echo "args: $VERSION $REF $PLAIN"\n')
    build, log = _run(make_app, source_repo, secret, {"Dockerfile": dockerfile},
                      build_args={"VERSION": "{short_sha}", "REF": "{ref}", "PLAIN": "x{{y}}"})
    assert build["status"] == "staged", build["error"]
    short = source_repo.head[:12]
    assert f"args: {short} refs/heads/main x{{y}}" in log
    assert build["build_args"] == {"VERSION": short, "REF": "refs/heads/main", "PLAIN": "x{y}"}


def test_the_target_of_a_multi_stage_build_is_built(make_app, source_repo, secret, base_image):
    marker = uuid.uuid4().hex
    dockerfile = (f"FROM {base_image} AS runtime\nRUN echo built-runtime-stage-{marker}\n"
                  f"FROM {base_image} AS debug\nRUN echo built-debug-stage && exit 1\n")
    build, log = _run(make_app, source_repo, secret, {"Dockerfile": dockerfile},
                      target="runtime")
    assert build["status"] == "staged", build["error"]
    assert f"built-runtime-stage-{marker}" in log and "built-debug-stage" not in log


def test_a_dockerfile_in_a_subfolder_with_its_context_elsewhere(make_app, source_repo, secret,
                                                                base_image):
    files = {"docker/app/Dockerfile": f"FROM {base_image}\nCOPY hello.txt /srv/\n"
                                      "RUN cat /srv/hello.txt\n",
             "site/hello.txt": f"hello from the site folder {uuid.uuid4().hex}\n"}
    build, log = _run(make_app, source_repo, secret, files, dockerfile="docker/app/Dockerfile",
                      context="site")
    assert build["status"] == "staged", build["error"]
    assert "hello from the site folder" in log


@pytest.mark.parametrize("builder", ["buildkit", "legacy"])
def test_dockerignore_is_honoured(make_app, source_repo, secret, base_image, builder):
    files = {".dockerignore": "# local files\nsecret.env\n*.log\n",
             "secret.env": "KEY=1\n", "debug.log": "noise\n",
             "Dockerfile": f"FROM {base_image}\nCOPY . /ctx/\nRUN ls -a /ctx && "
                           "test ! -e /ctx/secret.env && test ! -e /ctx/debug.log && "
                           "test -e /ctx/app.txt && test ! -e /ctx/.lockmaster.Dockerfile\n"}
    build, _log = _run(make_app, source_repo, secret, files, builder=builder)
    assert build["status"] == "staged", build["error"]


def test_the_label_step_does_not_defeat_the_cache_of_copy_everything(app, client, source_repo,
                                                                     secret, base_image):
    source_repo.commit({"Dockerfile": f"FROM {base_image}\nCOPY . /ctx/\n"
                                      f"RUN echo {uuid.uuid4().hex}\n"}, "Copy everything")
    first = push(client, source_repo, secret)
    work(app)
    retry = client.post(f"/api/v1/builds/{first}/retry").get_json()["id"]
    work(app)
    assert build_of(client, retry)["status"] == "staged"
    log = client.get(f"/api/v1/builds/{retry}/log").text
    assert step_was_cached(log, "COPY . /ctx/")


def test_a_submodule_file_is_in_the_image(make_app, source_repo, secret, base_image, tmp_path):
    library = tmp_path / "src" / "lib"
    library.mkdir(parents=True)
    git = ["git", "-c", "user.name=A", "-c", "user.email=a@example.com"]
    subprocess.run([*git, "init", "-q", "-b", "main", str(library)], check=True)
    (library / "lib.txt").write_text(f"from the submodule {uuid.uuid4().hex}\n")
    subprocess.run([*git, "-C", str(library), "add", "lib.txt"], check=True)
    subprocess.run([*git, "-C", str(library), "commit", "-qm", "lib"], check=True)
    subprocess.run([*git, "-c", "protocol.file.allow=always", "-C", str(source_repo.path),
                    "submodule", "add", "-q", str(library), "vendor/lib"], check=True)
    build, log = _run(make_app, source_repo, secret, {
        "Dockerfile": f"FROM {base_image}\nCOPY vendor/lib/lib.txt /lib.txt\nRUN cat /lib.txt\n"})
    assert build["status"] == "staged", build["error"]
    assert "from the submodule" in log
    without, _log = _run(make_app, source_repo, secret, {"unrelated.txt": "x\n"},
                         submodules=False)
    assert without["status"] == "failed"
    assert "vendor/lib/lib.txt" in without["error"]


def test_a_run_that_reaches_for_the_network_fails_under_none(make_app, source_repo, secret,
                                                            base_image):
    dockerfile = (f"FROM {base_image}\nRUN ls /sys/class/net && "
                  "wget -q -T 3 -O /dev/null http://127.0.0.1:5000/v2/\n")
    build, log = _run(make_app, source_repo, secret, {"Dockerfile": dockerfile})
    assert build["status"] == "failed" and build["failed_stage"] == "build"
    assert "wget -q -T 3" in build["error"] and "returned a non-zero code" in build["error"]
    assert re.search(r"\slo\n", log) and "eth0" not in log


@pytest.mark.parametrize("builder", ["buildkit", "legacy"])
def test_a_run_over_the_memory_limit_fails_with_a_clear_reason(make_app, source_repo, secret,
                                                              base_image, builder):
    dockerfile = f"FROM {base_image}\nRUN dd if=/dev/zero of=/dev/null bs=64M count=1\n"
    build, _log = _run(make_app, source_repo, secret, {"Dockerfile": dockerfile},
                       memory="32m", cpus=0.5, builder=builder)
    assert build["status"] == "failed" and build["failed_stage"] == "build"
    assert "used more than the memory limit of 32m" in build["error"]


@pytest.mark.parametrize("builder", ["buildkit", "legacy"])
def test_a_build_over_its_timeout_fails_and_leaves_no_container(make_app, source_repo, secret,
                                                               base_image, registry_prefix,
                                                               builder):
    marker = f"sleeping-{uuid.uuid4().hex}"
    dockerfile = f"FROM {base_image}\nRUN echo {marker} && sleep 60\n"
    build, log = _run(make_app, source_repo, secret, {"Dockerfile": dockerfile}, timeout=5,
                      builder=builder)
    assert build["status"] == "failed", build
    assert build["error"].startswith("timed out after 5s")
    assert build["failed_stage"] == "build"
    assert_no_step_left(log, marker)
    assert builder == "buildkit" or started_containers(log), log
    assert registry_get(f"{registry_prefix}/staging/acme/web/tags/list").status_code == 404


def test_stage_times_are_recorded(app, client, source_repo, secret):
    build_id = push(client, source_repo, secret)
    work(app)
    build = build_of(client, build_id)
    assert build["status"] == "staged", build["error"]
    stages = build["stages"]
    assert list(stages) == ["clone", "build", "checks", "push"]
    for times in stages.values():
        assert times["started_at"] <= times["finished_at"]
    assert stages["clone"]["finished_at"] <= stages["build"]["started_at"]
