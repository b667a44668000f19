"""The gates on an ordinary Debian image: a warm commit against a raw pull-build-push, and the
first build's gates against syft + hadolint + gzip run standalone.

The image: a debootstrapped Debian 12 minbase with ca-certificates, openssl, python3 and curl
(≈ 260 MB), a `useradd` user and one application file. Lockmaster runs as a service (web +
`lockmaster worker`) with every default gate on and an empty layer cache, in the same run:
  cold    the first commit's `checks` stage, against `syft scan docker:<image>`, `hadolint
          Dockerfile` and `docker save` + `gzip -c` of each layer, one after the other;
  warm    3 commits that change only the application file, webhook → `staged`, each followed
          by the raw `git pull && docker build && docker push` of the same change (medians).
The base image's layers are pushed to the registry first (untimed), as a shared base is.
Usage: flock /tmp/lockmaster-bench.lock .venv/bin/python -m bench.gates_real
The last line is JSON with `warm_over_raw` (target ≤ 3.0) and `cold_over_tools` (≤ 1.2).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import tarfile
import tempfile
import time
import uuid
from pathlib import Path

import docker
import git
import requests
import yaml
from redis import Redis

from bench.pipeline_overhead import (
    LOCKMASTER,
    PORT,
    one_build,
    publish_base,
    wait_for_job_end,
    wait_for_web,
    warm_up,
)
from builder.checks.tools import OFFLINE_ENV, tool_path
from devstack.debianbase import APP_PACKAGES, ensure_debian_base
from devstack.services import REGISTRY_ADDR, ServiceSet

ROOT = Path(__file__).resolve().parents[1]
WARM_COMMITS = 3
DOCKER = "/usr/bin/docker"
DOCKERFILE = """\
ARG BASE
FROM ${BASE}
RUN useradd --create-home app
COPY app.py /home/app/app.py
USER app
CMD ["python3", "/home/app/app.py"]
"""


def main() -> None:
    """Run the cold and warm rounds and print the table and the JSON line."""
    argparse.ArgumentParser(description=__doc__.splitlines()[0]).parse_args()
    ServiceSet(ROOT / "var").ensure()
    client = docker.from_env(timeout=600)
    base = ensure_debian_base(client, ROOT / "var" / "cache", APP_PACKAGES)
    run_id = uuid.uuid4().hex[:8]
    publish_base(client, base, run_id)
    work = Path(tempfile.mkdtemp(prefix="lockmaster-bench-"))
    try:
        repo = _repository(work / "src" / "app")
        cold, tools, warm, raw = _rounds(work, repo, base, run_id)
    finally:
        shutil.rmtree(work, ignore_errors=True)
        for image in client.images.list():
            for tag in image.tags:
                if f"bench{run_id}/" in tag:
                    client.images.remove(tag, force=True)
    _report(cold, tools, warm, raw)


def _repository(path: Path) -> git.Repo:
    path.mkdir(parents=True)
    repo = git.Repo.init(path, initial_branch="main")
    (path / "Dockerfile").write_text(DOCKERFILE)
    repo.index.add(["Dockerfile"])
    return repo


def _commit(repo: git.Repo, n: int) -> str:
    """An application-file-only change."""
    (Path(repo.working_dir) / "app.py").write_text(f"print('version {n}')\n")
    repo.index.add(["app.py"])
    actor = git.Actor("Bench", "bench@example.com")
    return repo.index.commit(f"Version {n}", author=actor, committer=actor).hexsha


def _rounds(work: Path, repo: git.Repo, base: str, run_id: str):
    env = _environment(work, repo, base, run_id)
    subprocess.run([LOCKMASTER, "db", "upgrade"], env=env, check=True, capture_output=True)
    logs = open(work / "lockmaster.log", "ab")  # noqa: SIM115 (closed below)
    processes = [subprocess.Popen([LOCKMASTER, *args], env=env, stdout=logs, stderr=logs,
                                  start_new_session=True)
                 for args in (["web", "--port", str(PORT), "--workers", "1"], ["worker"])]
    try:
        wait_for_web()
        first_sha = _commit(repo, 0)
        warm_up(repo, first_sha, env["BENCH_SECRET"])
        first = one_build(repo, first_sha, env["BENCH_SECRET"], work / "var" / "lockmaster.db")
        wait_for_job_end(env["LOCKMASTER_REDIS_URL"], first["id"])
        cold = _checks_seconds(first["id"])
        image = f"{REGISTRY_ADDR}/bench{run_id}/staging/bench/app:{first_sha[:12]}"
        tools = _standalone_tools(work, image, Path(repo.working_dir) / "Dockerfile")
        shell = _raw_clone(work, repo)
        warm, raw = [], []
        for n in range(1, WARM_COMMITS + 1):
            sha = _commit(repo, n)
            build = one_build(repo, sha, env["BENCH_SECRET"], work / "var" / "lockmaster.db")
            warm.append(build["seconds"])
            wait_for_job_end(env["LOCKMASTER_REDIS_URL"], build["id"])
            raw.append(_raw(shell, sha, base, run_id))
        return cold, tools, warm, raw
    finally:
        for process in processes:
            process.terminate()
            process.wait(timeout=60)
        logs.close()


def _environment(work: Path, repo: git.Repo, base: str, run_id: str) -> dict[str, str]:
    db = int(os.environ.get("LOCKMASTER_TEST_REDIS_DB", "14"))
    Redis.from_url(f"redis://127.0.0.1:6379/{db}").flushdb()
    config = {"registry": {"url": REGISTRY_ADDR, "insecure": True,
                           "staging": f"bench{run_id}/staging",
                           "production": f"bench{run_id}/production"},
              "repositories": [{"name": "bench/app", "provider": "github",
                                "secret_env": "BENCH_SECRET", "clone_url": repo.working_dir,
                                "image": "bench/app", "build_args": {"BASE": base}}],
              "api": {"anonymous_read": True}}
    (work / "lockmaster.yml").write_text(yaml.safe_dump(config))
    return {**os.environ, "LOCKMASTER_CONFIG": str(work / "lockmaster.yml"),
            "LOCKMASTER_DATA_DIR": str(work / "var"), "BENCH_SECRET": uuid.uuid4().hex,
            "LOCKMASTER_REDIS_URL": f"redis://127.0.0.1:6379/{db}"}


def _checks_seconds(build_id: str) -> float:
    from bench.pipeline_overhead import between

    build = requests.get(f"http://127.0.0.1:{PORT}/api/v1/builds/{build_id}", timeout=10).json()
    checks = build["stages"]["checks"]
    bad = [c["name"] for c in build["checks"] if c["status"] in ("fail", "error")]
    if bad:
        raise SystemExit(f"the gates did not pass the Debian image: {bad}")
    return between(checks["started_at"], checks["finished_at"])


def _standalone_tools(work: Path, image: str, dockerfile: Path) -> float:
    """syft, hadolint, then docker save and gzip -c of every layer, as a person runs them."""
    env = {**os.environ, **OFFLINE_ENV}
    export = work / "tools.tar"
    started = time.monotonic()
    subprocess.run([tool_path("syft"), "scan", f"docker:{image}", "-q", "-o",
                    "cyclonedx-json=/dev/null"], check=True, env=env, capture_output=True)
    subprocess.run([tool_path("hadolint"), "--no-fail", str(dockerfile)], check=True,
                   capture_output=True)
    subprocess.run([DOCKER, "save", "-o", str(export), image], check=True)
    with tarfile.open(export) as outer:
        layers = json.load(outer.extractfile("manifest.json"))[0]["Layers"]
    for layer in layers:
        subprocess.run(f"tar -xOf {export} {layer} | gzip -c | wc -c", shell=True, check=True,
                       capture_output=True)
    seconds = time.monotonic() - started
    export.unlink()
    return seconds


def _raw_clone(work: Path, repo: git.Repo) -> Path:
    folder = work / "shell"
    subprocess.run(["git", "clone", "-q", repo.working_dir, str(folder)], check=True)
    return folder


def _raw(folder: Path, sha: str, base: str, run_id: str) -> float:
    """git pull && docker build && docker push of one commit, timed."""
    image = f"{REGISTRY_ADDR}/bench{run_id}/shell/bench/app:{sha[:12]}"
    script = (f"git -C {folder} pull -q --ff-only && "
              f"{DOCKER} build -q --network none --build-arg BASE={base} -t {image} {folder} "
              f"&& {DOCKER} push -q {image}")
    started = time.monotonic()
    subprocess.run(["sh", "-c", script], check=True, capture_output=True,
                   env={**os.environ, "DOCKER_BUILDKIT": "0"})
    return time.monotonic() - started


def _report(cold: float, tools: float, warm: list[float], raw: list[float]) -> None:
    print(f"load average at the end: {os.getloadavg()[0]:.1f} (the machine is shared)")
    print(f"cold: lockmaster checks stage {cold:.2f}s, standalone tools {tools:.2f}s, "
          f"ratio {cold / tools:.2f} (target <= 1.2)")
    for n, (ours, theirs) in enumerate(zip(warm, raw, strict=True), 1):
        print(f"warm commit {n}: lockmaster webhook->staged {ours:.2f}s, raw {theirs:.2f}s")
    warm_median, raw_median = statistics.median(warm), statistics.median(raw)
    print(f"warm (median): {warm_median:.2f}s vs {raw_median:.2f}s, ratio "
          f"{warm_median / raw_median:.2f} (target <= 3.0)")
    print(json.dumps({"warm_over_raw": round(warm_median / raw_median, 3),
                      "cold_over_tools": round(cold / tools, 3),
                      "cold_checks_seconds": round(cold, 2), "tools_seconds": round(tools, 2),
                      "warm_seconds": [round(s, 3) for s in warm],
                      "raw_seconds": [round(s, 3) for s in raw]}))


if __name__ == "__main__":
    main()
