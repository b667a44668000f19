"""Commit→staged through Lockmaster against a plain `git clone && DOCKER_BUILDKIT=1 docker build
&& docker push` (Debian's /usr/bin/docker, the CLI Lockmaster drives, with the same flags).

For 5 commits of a reference repository (a multi-stage Dockerfile whose two independent
dependency stages each sleep 1 s after a run-id build arg, then a cache-mount step, and whose
application code changes in every commit), measures the wall time from the webhook
to `staged` through Lockmaster (a real `lockmaster worker`, no gates; `staged` is seen in the
build's committed row, read every 2 ms) and, in the same run, the
shell baseline for the same commits. Each side builds on a base image of its own, so neither
uses the other's layer cache. Also measures the build stage of Lockmaster's cold first commit
against the median of its warm later ones (only application code changed), and the build
stage of two 1 s stages built concurrently against one stage of 2 s (both through Lockmaster).

Usage: .venv/bin/python -m bench.pipeline_overhead   (uses Redis db LOCKMASTER_TEST_REDIS_DB)
The last line printed is one JSON object with `ratio`, `warm_over_cold` and
`parallel_over_serial`; `engine_waits` counts the commits whose build waited for another build
on the engine (another user of a shared engine: their time is not Lockmaster's overhead).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import datetime
from pathlib import Path

import docker
import git
import yaml
from redis import Redis

from devstack.baseimage import ensure_base_image
from devstack.gitpush import push_payload, send_push
from devstack.services import REGISTRY_ADDR, ServiceSet

COMMITS = 5
FINAL = ("staged", "failed", "rejected", "cancelled", "superseded")
ROOT = Path(__file__).resolve().parents[1]
LOCKMASTER = str(Path(sys.executable).parent / "lockmaster")
PORT = 18000 + int(os.environ.get("LOCKMASTER_TEST_REDIS_DB", "14"))
DOCKER_CLI = "/usr/bin/docker"
WARM_UP = "bench/warm-up"  # the repository of the worker's untimed first build
# The build log's line when a BuildKit build waits for another one on the engine (the
# limits are the engine's: builder/bklimits.py): such a commit's time is not overhead.
ENGINE_WAIT = "waiting for the build that runs on this engine to finish"
DOCKERFILE = """\
ARG BASE
FROM ${BASE} AS deps-a
ARG RUN_ID
RUN echo "$RUN_ID" && mkdir -p /deps && for i in 1 2 3 4; do \
      dd if=/dev/urandom of=/deps/a$i bs=1M count=2 2>/dev/null; done && sleep 1
FROM ${BASE} AS deps-b
ARG RUN_ID
RUN echo "$RUN_ID" && mkdir -p /deps && for i in 1 2 3 4; do \
      dd if=/dev/urandom of=/deps/b$i bs=1M count=2 2>/dev/null; done && sleep 1
FROM ${BASE}
COPY --from=deps-a /deps/ /deps/
COPY --from=deps-b /deps/ /deps/
RUN --mount=type=cache,target=/cache ls /cache > /deps/cached.txt; date > /cache/last
COPY app/ /app/
RUN cat /app/*.txt > /app/bundle && wc -c /app/bundle
CMD ["cat", "/app/bundle"]
"""
# Two independent 1 s stages, and one stage of 2 s: the build stage of each through Lockmaster.
PARALLEL = """\
ARG BASE
FROM ${{BASE}} AS one
RUN echo {marker}-one && sleep 1 && touch /one
FROM ${{BASE}} AS two
RUN echo {marker}-two && sleep 1 && touch /two
FROM ${{BASE}}
COPY --from=one /one /one
COPY --from=two /two /two
"""
SERIAL = """\
ARG BASE
FROM ${{BASE}}
RUN echo {marker}-serial && sleep 2 && touch /one /two
"""


def main() -> None:
    """Run both pipelines over the same commits and print the table and the JSON line."""
    argparse.ArgumentParser(description=__doc__.splitlines()[0]).parse_args()
    ServiceSet(ROOT / "var").ensure()
    client = docker.from_env(timeout=300)
    run_id = uuid.uuid4().hex[:8]
    bases = {side: _base_image(client, side, run_id) for side in ("lm", "sh")}
    publish_base(client, bases["sh"], run_id)
    work = Path(tempfile.mkdtemp(prefix="lockmaster-bench-"))
    try:
        repo = _reference_repository(work / "src" / "app")
        shas = [_commit(repo, n) for n in range(COMMITS)]
        lockmaster, baseline, stages = _both_pipelines(work, repo, shas, bases, run_id)
    finally:
        shutil.rmtree(work, ignore_errors=True)
        _remove_local_images(client, run_id, bases)
    _report(lockmaster, baseline, stages)


def _base_image(client: docker.DockerClient, side: str, run_id: str) -> str:
    """A base image of this side and run only (BuildKit keys its cache on the layers, which
    are the same: each side also has a RUN_ID of its own), so each side starts cold."""
    base = ensure_base_image(client)
    folder = Path(tempfile.mkdtemp())
    (folder / "Dockerfile").write_text(f"FROM {base}\nLABEL bench.run={run_id}-{side}\n")
    tag = f"lockmaster-bench-{side}-{run_id}:base"
    client.images.build(path=str(folder), tag=tag, network_mode="none", rm=True)
    shutil.rmtree(folder)
    return tag


def publish_base(client: docker.DockerClient, base: str, run_id: str) -> None:
    """Put the base image's layers in the registry first (untimed), as a shared base image
    is in practice: otherwise the side that pushes first uploads them and the other only
    mounts them, which made the comparison depend on the order."""
    name = f"{REGISTRY_ADDR}/bench{run_id}/base"
    client.images.get(base).tag(name, "latest")
    for _line in client.images.push(name, "latest", stream=True, decode=True):
        pass


def _reference_repository(path: Path) -> git.Repo:
    path.mkdir(parents=True)
    repo = git.Repo.init(path, initial_branch="main")
    (path / "Dockerfile").write_text(DOCKERFILE)
    (path / "app").mkdir()
    for n in range(20):
        (path / "app" / f"module{n}.txt").write_text(f"module {n}\n" * 200)
    repo.index.add(["Dockerfile", "app"])
    return repo


def _commit(repo: git.Repo, n: int, dockerfile: str | None = None) -> str:
    """An application-code-only change (or a new Dockerfile)."""
    (Path(repo.working_dir) / "app" / "version.txt").write_text(f"version {n}\n")
    repo.index.add(["app/version.txt"])
    if dockerfile is not None:
        (Path(repo.working_dir) / "Dockerfile").write_text(dockerfile)
        repo.index.add(["Dockerfile"])
    actor = git.Actor("Bench", "bench@example.com")
    return repo.index.commit(f"Version {n}", author=actor, committer=actor).hexsha


def _both_pipelines(work: Path, repo: git.Repo, shas: list[str], bases: dict[str, str],
                    run_id: str) -> tuple[list[dict], list[dict], dict[str, float]]:
    """Each commit through Lockmaster, then through the shell (interleaved, so that a busy
    machine slows both alike); then the parallel and the serial stages through Lockmaster."""
    env = _lockmaster_env(work, repo, bases["lm"], run_id)
    subprocess.run([LOCKMASTER, "db", "upgrade"], env=env, check=True, capture_output=True)
    logs = open(work / "lockmaster.log", "ab")  # noqa: SIM115 (closed below)
    processes = [subprocess.Popen([LOCKMASTER, *args], env=env, stdout=logs, stderr=logs,
                                  start_new_session=True)
                 for args in (["web", "--port", str(PORT), "--workers", "1"], ["worker"])]
    try:
        wait_for_web()
        warm_up(repo, shas[0], env["BENCH_SECRET"])
        warm_worker(work, env)
        lockmaster, baseline = [], []
        for sha in shas:
            lockmaster.append(one_build(repo, sha, env["BENCH_SECRET"],
                                         work / "var" / "lockmaster.db"))
            wait_for_job_end(env["LOCKMASTER_REDIS_URL"], lockmaster[-1]["id"])
            baseline.append(_shell_baseline(work, repo, sha, bases["sh"], run_id))
        stages = {}
        for name, text in (("parallel", PARALLEL), ("serial", SERIAL)):
            sha = _commit(repo, COMMITS + len(stages), text.format(marker=uuid.uuid4().hex))
            built = one_build(repo, sha, env["BENCH_SECRET"], work / "var" / "lockmaster.db")
            wait_for_job_end(env["LOCKMASTER_REDIS_URL"], built["id"])
            stages[name] = built["build_seconds"]
        return lockmaster, baseline, stages
    finally:
        for process in processes:
            process.terminate()
            process.wait(timeout=60)
        logs.close()


GATES = ("size", "lint", "sbom", "vulnerabilities", "secrets", "policy", "tests")


def _lockmaster_env(work: Path, repo: git.Repo, base: str, run_id: str) -> dict[str, str]:
    db = int(os.environ.get("LOCKMASTER_TEST_REDIS_DB", "14"))
    Redis.from_url(f"redis://127.0.0.1:6379/{db}").flushdb()
    config = {"registry": {"url": REGISTRY_ADDR, "insecure": True,
                           "staging": f"bench{run_id}/staging",
                           "production": f"bench{run_id}/production"},
              "repositories": [{"name": "bench/app", "provider": "github",
                                "secret_env": "BENCH_SECRET", "clone_url": repo.working_dir,
                                "image": "bench/app",
                                "build_args": {"BASE": base, "RUN_ID": f"{run_id}-lm"}},
                               {"name": WARM_UP, "provider": "github",
                                "secret_env": "BENCH_SECRET",
                                "clone_url": str(work / "src" / "warm-up"), "image": WARM_UP}],
              # The issue measures the pipeline with the gates off; the bench only reads the API.
              "checks": {gate: {"enabled": False} for gate in GATES},
              "api": {"anonymous_read": True}}
    (work / "lockmaster.yml").write_text(yaml.safe_dump(config))
    return {**os.environ, "LOCKMASTER_CONFIG": str(work / "lockmaster.yml"),
            "LOCKMASTER_DATA_DIR": str(work / "var"), "BENCH_SECRET": uuid.uuid4().hex,
            "LOCKMASTER_REDIS_URL": f"redis://127.0.0.1:6379/{db}"}


def wait_for_web() -> None:
    import requests

    for _ in range(150):
        try:
            requests.get(f"http://127.0.0.1:{PORT}/healthz", timeout=1)
            return
        except requests.RequestException:
            time.sleep(0.2)
    raise SystemExit("lockmaster web did not start; see the bench's lockmaster.log")


def warm_up(repo: git.Repo, sha: str, secret: str) -> None:
    """One untimed push of a branch that does not build: the web app and the recorder serve
    their first delivery (imports, connections, compiled statements) before the timing, as a
    running service has long done."""
    payload = push_payload(Path(repo.working_dir), "bench/app", sha=sha)
    payload["ref"] = "refs/heads/warm-up"
    response = send_push(f"http://127.0.0.1:{PORT}", secret, payload)
    if response.status_code != 200:
        raise SystemExit(f"the warm-up push was answered {response.status_code}: "
                         f"{response.text}")
    time.sleep(1)


def warm_worker(work: Path, env: dict[str, str]) -> None:
    """One untimed build of another repository (FROM scratch: nothing of the reference
    repository's cache): the worker runs its first job (connections, compiled statements,
    the engine's and the registry's first requests) before the timing, as a running service
    has long done. The reference repository's first commit still builds from a cold cache."""
    warm = git.Repo.init(work / "src" / "warm-up", initial_branch="main")
    (Path(warm.working_dir) / "Dockerfile").write_text("FROM scratch\nCOPY hello.txt /\n")
    (Path(warm.working_dir) / "hello.txt").write_text("hello\n")
    warm.index.add(["Dockerfile", "hello.txt"])
    actor = git.Actor("Bench", "bench@example.com")
    sha = warm.index.commit("Warm up", author=actor, committer=actor).hexsha
    built = one_build(warm, sha, env["BENCH_SECRET"], work / "var" / "lockmaster.db",
                      repository=WARM_UP)
    wait_for_job_end(env["LOCKMASTER_REDIS_URL"], built["id"])


def one_build(repo: git.Repo, sha: str, secret: str, database: Path,
              repository: str = "bench/app") -> dict:
    import requests

    start = time.monotonic()
    response = send_push(f"http://127.0.0.1:{PORT}", secret,
                         push_payload(Path(repo.working_dir), repository, sha=sha))
    url = f"http://127.0.0.1:{PORT}" + response.json()["builds"][0]["url"]
    _wait_until_ended(database, response.json()["builds"][0]["id"])
    seconds = time.monotonic() - start
    build = requests.get(url, timeout=10).json()  # untimed: the stage times
    # Untimed: did the build wait for the engine (another build on it, e.g. a test's)?
    waited = ENGINE_WAIT in requests.get(f"{url}/log", timeout=10).text
    if build["status"] != "staged":
        raise SystemExit(f"build {build['id']} ended {build['status']}: {build['error']}")
    stages = {name: between(times["started_at"], times["finished_at"])
              for name, times in build["stages"].items()}
    return {"id": build["id"], "seconds": seconds, "build_seconds": stages["build"],
            "queue_seconds": between(build["created_at"], build["started_at"]),
            "clone_seconds": stages["clone"], "push_seconds": stages["push"],
            "engine_wait": waited}


def _wait_until_ended(database: Path, build_id: str) -> None:
    """Read the build's committed status every 2 ms, straight from the database (what the
    API answers at that moment): polling `GET /api/v1/builds/{id}` that often took about a
    quarter of one of the two cores from the build (the request, its queries, the client),
    a cost the shell side never shares. A read costs ~50 µs; every 10 ms it added 5 ms on
    average to Lockmaster's side alone (the shell's end is its exit, seen at once)."""
    connection = sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=10)
    try:
        while True:
            row = connection.execute("SELECT status FROM builds WHERE id = ?",
                                     (build_id,)).fetchone()
            if row and row[0] in FINAL:
                return
            time.sleep(0.002)
    finally:
        connection.close()


def wait_for_job_end(redis_url: str, build_id: str) -> None:
    """Untimed: let the worker finish what it does after `staged` (storing the log, removing
    containers), so that it does not share the machine with the shell baseline."""
    from rq.job import Job, JobStatus

    job = Job.fetch(f"build-{build_id}", connection=Redis.from_url(redis_url))
    ended = (JobStatus.FINISHED, JobStatus.FAILED, JobStatus.STOPPED, JobStatus.CANCELED)
    give_up = time.monotonic() + 60
    while job.get_status(refresh=True) not in ended and time.monotonic() < give_up:
        time.sleep(0.01)


def between(start: str, end: str) -> float:
    parse = lambda text: datetime.fromisoformat(text.rstrip("Z"))  # noqa: E731
    return (parse(end) - parse(start)).total_seconds()


def _shell_baseline(work: Path, repo: git.Repo, sha: str, base: str, run_id: str) -> dict:
    folder = work / f"shell-{sha[:12]}"
    image = f"{REGISTRY_ADDR}/bench{run_id}/shell/bench/app:{sha[:12]}"
    script = (f"git clone -q {repo.working_dir} {folder} && git -C {folder} checkout -q {sha} && "
              f"{DOCKER_CLI} build -q --progress plain --network none --build-arg BASE={base} "
              f"--build-arg RUN_ID={run_id}-sh --build-arg BUILDKIT_INLINE_CACHE=1 -t {image} "
              f"{folder} && {DOCKER_CLI} push -q {image}")
    start = time.monotonic()
    subprocess.run(["sh", "-c", script], check=True, capture_output=True,
                   env={**os.environ, "DOCKER_BUILDKIT": "1"})
    return {"seconds": time.monotonic() - start}


def _remove_local_images(client: docker.DockerClient, run_id: str, bases: dict) -> None:
    """Remove only the images this run made."""
    for image in client.images.list():
        for tag in image.tags:
            if f"bench{run_id}/" in tag:
                client.images.remove(tag, force=True)
    for tag in bases.values():
        client.images.remove(tag, force=True)


def _report(lockmaster: list[dict], baseline: list[dict], stages: dict[str, float]) -> None:
    print(f"{'commit':>6} {'lockmaster s':>13} {'shell s':>9} {'ratio':>6} | lockmaster stages: "
          f"{'queue':>6} {'clone':>6} {'build':>6} {'push':>6}")
    for n, (ours, theirs) in enumerate(zip(lockmaster, baseline, strict=True), 1):
        print(f"{n:>6} {ours['seconds']:>13.2f} {theirs['seconds']:>9.2f} "
              f"{ours['seconds'] / theirs['seconds']:>6.2f} |                    "
              f"{ours['queue_seconds']:>6.2f} {ours['clone_seconds']:>6.2f} "
              f"{ours['build_seconds']:>6.2f} {ours['push_seconds']:>6.2f}"
              + ("  (waited for another build on the engine)" if ours["engine_wait"] else ""))
    total_ours = sum(b["seconds"] for b in lockmaster)
    total_theirs = sum(b["seconds"] for b in baseline)
    ratio = total_ours / total_theirs
    # Commit 1 builds from a cold cache; commits 2-5 change only application code (median).
    cold = lockmaster[0]["build_seconds"]
    warm = statistics.median(b["build_seconds"] for b in lockmaster[1:])
    print(f"total: lockmaster {total_ours:.2f}s, shell {total_theirs:.2f}s, ratio {ratio:.2f} "
          "(target <= 1.10)")
    print(f"build stage: cold {cold:.2f}s, warm (median) {warm:.2f}s, warm/cold {warm / cold:.2f} "
          "(target <= 0.3)")
    parallel = stages["parallel"] / stages["serial"]
    print(f"build stage: two 1 s stages {stages['parallel']:.2f}s, one 2 s stage "
          f"{stages['serial']:.2f}s, parallel/serial {parallel:.2f} (target <= 0.7)")
    print(json.dumps({"ratio": round(ratio, 3), "warm_over_cold": round(warm / cold, 3),
                      "parallel_over_serial": round(parallel, 3),
                      "lockmaster_seconds": round(total_ours, 2),
                      "shell_seconds": round(total_theirs, 2),
                      "cold_build_seconds": round(cold, 2), "warm_build_seconds": round(warm, 2),
                      "commits": len(lockmaster),
                      "engine_waits": sum(b["engine_wait"] for b in lockmaster)}))


if __name__ == "__main__":
    main()
