"""BuildKit, the default builder, through the real webhook, worker, engine and registry."""

import base64
import contextlib
import json
import re
import uuid
from datetime import datetime
from pathlib import Path

import docker
import pytest

from builder.bklimits import StepLimits
from builder.gc import disk_usage
from config.gates import GATES
from devstack.baseimage import ensure_base_image
from tests.support.buildhelpers import (
    build_log,
    build_of,
    buildkit_limits,
    push,
    start_worker,
    stop_worker,
    wait_for,
)
from tests.support.engines import dedicated_engine
from tests.support.sourcerepo import SourceRepo
from tests.support.stack import registry_get, repo_entry, work

pytestmark = pytest.mark.once


def _build(app, source_repo, secret, files: dict[str, str], full_name: str = "acme/web"):
    source_repo.commit(files, "Change the build")
    client = app.test_client()
    build_id = push(client, source_repo, secret, full_name=full_name)
    work(app)
    return build_of(client, build_id), build_log(client, build_id)


def test_modern_dockerfile_features_build(make_app, source_repo, secret, base_image):
    """Parallel stages, COPY --from and --chmod, bind and tmpfs mounts, in one build."""
    marker = uuid.uuid4().hex
    dockerfile = (
        f"FROM {base_image} AS one\nRUN printf '%s-%s' one {marker} > /one && sleep 2\n"
        f"FROM {base_image} AS two\nRUN printf '%s-%s' two {marker} > /two && sleep 2\n"
        f"FROM {base_image}\nCOPY --from=one /one /srv/one\nCOPY --from=two /two /srv/two\n"
        "COPY --chmod=750 run.sh /srv/run.sh\n"
        "RUN --mount=type=bind,source=data.txt,target=/mnt/data.txt "
        "--mount=type=tmpfs,target=/scratch "
        "cat /mnt/data.txt /srv/one /srv/two && stat -c 'mode=%a' /srv/run.sh && "
        "touch /scratch/x && test ! -e /mnt/data-copied\n")
    app = make_app([repo_entry(source_repo)])
    build, log = _build(app, source_repo, secret, {
        "Dockerfile": dockerfile, "run.sh": "#!/bin/sh\n", "data.txt": f"bound-{marker}\n"})
    assert build["status"] == "staged", build["error"]
    for text in (f"bound-{marker}", f"one-{marker}", f"two-{marker}", "mode=750"):
        assert text in log
    # Built side by side: the build stage took less than its two sleeping steps one after
    # the other would (BuildKit's plain progress prints one step at a time, so its order says
    # nothing; each step's own time does).
    steps = [float(re.search(rf"#{vertex} DONE ([\d.]+)s", log).group(1)) for vertex in (
        re.search(rf"#(\d+) \[{name} 2/2\] RUN", log).group(1) for name in ("one", "two"))]
    times = build["stages"]["build"]
    took = (datetime.fromisoformat(times["finished_at"].rstrip("Z"))
            - datetime.fromisoformat(times["started_at"].rstrip("Z"))).total_seconds()
    assert min(steps) >= 2 and took < sum(steps), (steps, took)


def test_cache_mounts_are_kept_per_repository(make_app, source_repo, secret, base_image,
                                              tmp_path):
    dockerfile = (f"FROM {base_image}\nCOPY stamp /stamp\n"
                  "RUN --mount=type=cache,target=/root/.cache "
                  "echo \"found:$(cat /root/.cache/seen 2>/dev/null)\"; "
                  "cat /stamp > /root/.cache/seen\n")
    stamps = [uuid.uuid4().hex for _ in range(3)]
    other = SourceRepo.create(tmp_path / "src" / "other", base_image)
    app = make_app([repo_entry(source_repo),
                    repo_entry(other, name="acme/other", image="acme/other")])
    first, first_log = _build(app, source_repo, secret,
                              {"Dockerfile": dockerfile, "stamp": stamps[0]})
    assert first["status"] == "staged", first["error"]
    assert re.search(r" found:\n", first_log)
    second, second_log = _build(app, source_repo, secret, {"stamp": stamps[1]})
    assert second["status"] == "staged", second["error"]
    assert f"found:{stamps[0]}" in second_log
    theirs, their_log = _build(app, other, secret, {"Dockerfile": dockerfile, "stamp": stamps[2]},
                               full_name="acme/other")
    assert theirs["status"] == "staged", theirs["error"]
    assert re.search(r" found:\n", their_log) and stamps[1] not in their_log


def test_a_build_secret_reaches_its_mount_only(make_app, source_repo, secret, base_image,
                                               monkeypatch, registry_prefix):
    value = f"pip-{uuid.uuid4().hex}{uuid.uuid4().hex}"  # longer than a line of `base64`
    step = uuid.uuid4().hex
    monkeypatch.setenv("PIP_CONF_CONTENT", value)
    app = make_app([repo_entry(source_repo, secrets=[{"id": "pip-conf",
                                                      "env": "PIP_CONF_CONTENT"}])])
    # BuildKit's cache key of a step ignores the secret's value: a new step, so that it runs.
    dockerfile = (f"FROM {base_image}\nRUN --mount=type=secret,id=pip-conf echo {step} && "
                  "wc -c < /run/secrets/pip-conf && cat /run/secrets/pip-conf\n")
    build, log = _build(app, source_repo, secret, {"Dockerfile": dockerfile})
    assert build["status"] == "staged", build["error"]
    assert f"{len(value)}\n" in log and value not in log
    assert value not in json.dumps(build)
    client = app.test_client()
    lineage = client.get(f"/api/v1/images/{build['image']['digest']}")
    assert lineage.status_code == 200 and value not in lineage.text
    engine = docker.from_env()
    image = engine.images.get(f"127.0.0.1:5000/{registry_prefix}/staging/acme/web:main")
    saved = b"".join(image.save(named=False))
    assert value.encode() not in saved
    assert base64.b64encode(value.encode()).rstrip(b"=") not in saved

    # Encoded after other text (another offset modulo 3) and wrapped at 76 columns.
    leak = (f"FROM {base_image}\nRUN --mount=type=secret,id=pip-conf echo {step} && "
            "{ printf 'tok='; cat /run/secrets/pip-conf; echo; } | base64 > /leaked\n")
    leaked, leak_log = _build(app, source_repo, secret, {"Dockerfile": leak})
    assert leaked["status"] == "rejected", leaked["error"]
    assert "build secret" in leaked["error"]
    assert value not in leak_log and value not in json.dumps(leaked)


def test_refused_steps_and_syntax_lines(make_app, source_repo, secret, base_image):
    app = make_app([repo_entry(source_repo)])
    undeclared, _ = _build(app, source_repo, secret, {
        "Dockerfile": f"FROM {base_image}\nRUN --mount=type=secret,id=npm-token true\n"})
    assert undeclared["status"] == "failed"
    assert "the secret 'npm-token' is not declared" in undeclared["error"]
    network, _ = _build(app, source_repo, secret, {
        "Dockerfile": f"FROM {base_image}\nRUN --network=host wget http://127.0.0.1:5000/\n"})
    assert network["status"] == "failed" and "RUN --network is not allowed" in network["error"]
    foreign, _ = _build(app, source_repo, secret, {
        "Dockerfile": f"# syntax=example.com/frontends/dockerfile:9\nFROM {base_image}\n"})
    assert foreign["status"] == "failed"
    assert "buildkit.frontend_image" in foreign["error"]
    assert "example.com/frontends/dockerfile:9" in foreign["error"]
    marker = uuid.uuid4().hex
    builtin, log = _build(app, source_repo, secret, {
        "Dockerfile": f"# syntax=docker/dockerfile:1\nFROM {base_image}\nRUN echo {marker}\n"})
    assert builtin["status"] == "staged", builtin["error"]
    assert "built-in Dockerfile frontend" in log and marker in log


def test_a_mirrored_frontend_is_asked_of_the_registry(make_app, source_repo, secret,
                                                      base_image, registry_prefix):
    """No frontend image can be had offline: this checks that `buildkit.frontend_image` is
    what the engine resolves for a `# syntax=docker/dockerfile:…` line (BUILDKIT_SYNTAX),
    and that a mirror missing from the registry fails naming it."""
    mirror = f"127.0.0.1:5000/{registry_prefix}/mirror/dockerfile:1"
    app = make_app([repo_entry(source_repo)], buildkit={"frontend_image": mirror})
    build, log = _build(app, source_repo, secret, {
        "Dockerfile": f"# syntax=docker/dockerfile:1.4\nFROM {base_image}\nRUN true\n"})
    assert build["status"] == "failed"
    assert f"using the mirrored frontend {mirror}" in log
    assert f"resolve image config for {mirror}" in log  # the engine asked the registry
    assert mirror in build["error"] and "buildkit.frontend_image" in build["error"]


def test_a_legacy_repository_still_builds(make_app, source_repo, secret):
    app = make_app([repo_entry(source_repo, builder="legacy")])
    build, log = _build(app, source_repo, secret, {"extra.txt": uuid.uuid4().hex})
    assert build["status"] == "staged", build["error"]
    assert "Step 1/" in log  # the legacy builder's own progress


def test_a_pinned_repository_builds_only_on_its_pools_worker(make_app, source_repo, secret,
                                                             tmp_path):
    app = make_app([repo_entry(source_repo, pool="tenant-a")])
    client = app.test_client()
    build_id = push(client, source_repo, secret)
    work(app)  # a worker of the shared queues
    assert build_of(client, build_id)["status"] == "queued"
    assert 'lockmaster_queue_depth{queue="builds-pool-tenant-a"} 1.0' in \
        client.get("/metrics").text
    worker = start_worker(app, tmp_path / "worker.log", "--burst", "--pool", "tenant-a")
    try:
        worker.wait(timeout=120)
    finally:
        stop_worker(worker)
    assert build_of(client, build_id)["status"] == "staged"


def test_a_pruned_engine_reuses_the_staged_images_layers(make_app, source_repo, secret,
                                                         base_image, registry_prefix):
    app = make_app([repo_entry(source_repo)])
    marker = uuid.uuid4().hex
    dockerfile = f"FROM {base_image}\nRUN echo layer-{marker} > /layer\n"
    first, _ = _build(app, source_repo, secret, {"Dockerfile": dockerfile})
    assert first["status"] == "staged", first["error"]
    engine = docker.from_env()
    staging = f"127.0.0.1:5000/{registry_prefix}/staging/acme/web"
    for image in engine.images.list(name=staging):
        engine.images.remove(image.id, force=True)
    records = disk_usage(engine).get("BuildCache") or []
    ours = [r["ID"] for r in records if marker in (r.get("Description") or "")]
    assert ours
    for record_id in ours:  # only this test's cache: others build on this engine too
        engine.api.prune_builds(filters={"id": [record_id]})
    left = [r for r in disk_usage(engine).get("BuildCache") or []
            if marker in (r.get("Description") or "")]
    assert left == []
    second, log = _build(app, source_repo, secret, {"unrelated.txt": uuid.uuid4().hex})
    assert second["status"] == "staged", second["error"]
    step = log[log.index(f"RUN echo layer-{marker}"):]
    assert "CACHED" in step.split("\n\n")[0], step[:400]
    assert registry_get(f"{registry_prefix}/staging/acme/web/tags/list").status_code == 200


def test_the_limits_hold_while_the_steps_run_and_come_off_after(make_app, source_repo, secret,
                                                                base_image, tmp_path):
    marker = f"limited-{uuid.uuid4().hex}"
    app = make_app([repo_entry(source_repo, memory="48m", cpus=0.5, pids=100)])
    client = app.test_client()
    source_repo.commit({"Dockerfile": f"FROM {base_image}\nRUN echo {marker} && sleep 4\n"})
    build_id = push(client, source_repo, secret)
    worker = start_worker(app, tmp_path / "worker.log", "--burst")
    try:
        wait_for(lambda: marker in build_log(client, build_id), 90, "the step to run")
        assert buildkit_limits() == (48 * 1024 * 1024, "50000", "100")
        worker.wait(timeout=60)
    finally:
        stop_worker(worker)
        if worker.returncode != 0:  # killed before taking the limits off: later builds on
            lifted = StepLimits(None, None, 0, "docker")  # this engine must not inherit them
            lifted.applied = True
            lifted.release()
    assert build_of(client, build_id)["status"] == "staged"
    memory, quota, pids = buildkit_limits()
    assert (memory > 1 << 60, quota, pids) == (True, "-1", "max")


# An engine of the test's own started with `--cgroup-parent`: the worker reads that parent from
# the engine's dockerd, and the limits land where the steps run.
PARENT = "lm-test-parent"
CGROUP = Path("/sys/fs/cgroup")
MEMORY = 48 * 1024 * 1024


def _remove_parent() -> None:
    """The parent's cgroups the engine and the worker made, in every hierarchy."""
    for hierarchy in CGROUP.iterdir():
        for group in (hierarchy / PARENT / "buildkit", hierarchy / PARENT):
            with contextlib.suppress(OSError):
                group.rmdir()


def test_limits_land_in_the_engines_own_cgroup_parent(make_app, source_repo, secret,
                                                      monkeypatch, tmp_path):
    marker = f"limited-{uuid.uuid4().hex}"
    try:
        with dedicated_engine([f"--cgroup-parent={PARENT}"]) as engine:
            monkeypatch.setenv("DOCKER_HOST", engine.url)  # the worker's engine
            base = ensure_base_image(engine.client)
            app = make_app([repo_entry(source_repo, memory="48m", cpus=0.5, pids=100,
                                       checks={gate: {"enabled": False} for gate in GATES})])
            # The step says which memory cgroup it runs in and the limit that holds for it.
            source_repo.commit({"Dockerfile": (
                f"FROM {base}\nRUN echo {marker} && grep memory /proc/self/cgroup && "
                "grep hierarchical_memory_limit /sys/fs/cgroup/memory/memory.stat && sleep 4\n")})
            client = app.test_client()
            build_id = push(client, source_repo, secret)
            worker = start_worker(app, tmp_path / "worker.log", "--burst")
            try:
                wait_for(lambda: marker in build_log(client, build_id), 120, "the step to run")
                assert buildkit_limits(PARENT) == (MEMORY, "50000", "100")
                worker.wait(timeout=120)
            finally:
                stop_worker(worker)
            build, log = build_of(client, build_id), build_log(client, build_id)
            assert build["status"] == "staged", (build["error"], log)
            assert "not applied" not in log
            assert re.search(rf":memory:/{PARENT}/buildkit/\w+$", log, re.MULTILINE), log
            assert f"hierarchical_memory_limit {MEMORY}" in log
            memory, quota, pids = buildkit_limits(PARENT)
            assert (memory > 1 << 60, quota, pids) == (True, "-1", "max")
    finally:
        _remove_parent()
