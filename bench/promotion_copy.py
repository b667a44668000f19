"""Promotion speed: Lockmaster's copy by digest against `skopeo copy`, for 2 MB and 200 MB images.

Run: LOCKMASTER_TEST_REDIS_DB=N .venv/bin/python -m bench.promotion_copy
Needs the local registry, dockerd and Redis (`python -m devstack up`). The two staging images
are built once from random data layers and reused by later runs (one copy in the registry).
The last line is JSON: ratio (Lockmaster/skopeo, the worse size) and large_over_small.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

import docker

from bootstrap import Runtime
from builder.attest import sign_image
from config import load_settings
from devstack.baseimage import ensure_base_image
from devstack.services import REGISTRY_ADDR
from distribution.client import RegistryClient
from promotion.jobs import PromotionRun
from provenance.keystore import worker_signer
from record.migrate import upgrade
from record.models import Build, utcnow
from record.promotions import Promotion

SIZES = {"small": 2 * 1024 * 1024, "large": 200 * 1024 * 1024}
ROUNDS = 7
PREFIX = "lockmaster-bench"
REDIS_DB = int(os.environ.get("LOCKMASTER_TEST_REDIS_DB", "14"))


def staged_image(client: docker.DockerClient, label: str, size: int) -> str:
    """The digest of <registry>/lockmaster-bench/staging/<label>:bench, built once."""
    name = f"{PREFIX}/staging/{label}"
    registry = RegistryClient(f"http://{REGISTRY_ADDR}")
    digest = registry.manifest_digest(name, "bench")
    if digest:
        return digest
    base = ensure_base_image(client)
    with tempfile.TemporaryDirectory() as folder:
        with open(Path(folder) / "random.bin", "wb") as data:
            for _ in range(size // (1024 * 1024)):
                data.write(os.urandom(1024 * 1024))
        (Path(folder) / "Dockerfile").write_text(f"FROM {base}\nCOPY random.bin /data/\n")
        image, _log = client.images.build(path=folder, network_mode="none", pull=False,
                                          rm=True, labels={"io.lockmaster.bench": "1"})
    repository = f"{REGISTRY_ADDR}/{name}"
    image.tag(repository, "bench")
    for line in client.api.push(repository, tag="bench", stream=True, decode=True):
        if "error" in line:
            raise RuntimeError(line["error"])
    client.images.remove(f"{repository}:bench")
    return registry.manifest_digest(name, "bench")


def runtime_for(workdir: Path, production: str) -> Runtime:
    """A fresh Lockmaster installation promoting to `production` (SQLite, the bench Redis db)."""
    workdir.mkdir(parents=True)
    config = workdir / "lockmaster.yml"
    repositories = [{"name": f"bench/{label}", "provider": "github", "secret_env": "BENCH",
                     "image": label, "promotion": {"tags": ["sha-{short_sha}", "latest"]}}
                    for label in SIZES]
    config.write_text(json.dumps({"registry": {"url": REGISTRY_ADDR, "insecure": True,
                                               "staging": f"{PREFIX}/staging",
                                               "production": production},
                                  "repositories": repositories}))
    settings = load_settings({"LOCKMASTER_DATA_DIR": str(workdir / "var"),
                              "LOCKMASTER_CONFIG": str(config),
                              "LOCKMASTER_REDIS_URL": f"redis://127.0.0.1:6379/{REDIS_DB}"})
    upgrade(settings.database_url)
    return Runtime(settings)


def lockmaster_copy(workdir: Path, label: str, digest: str) -> float:
    """Seconds from the promote job's start to the production tags being in place."""
    production = f"{PREFIX}/lm-{uuid.uuid4().hex[:8]}"
    runtime = runtime_for(workdir / production.rsplit("/", 1)[1], production)
    sha = uuid.uuid4().hex + "00000000"
    with runtime.db.session() as session:
        build = Build(repository=f"bench/{label}", provider="github", ref="refs/heads/main",
                      commit_sha=sha, clone_url="-", dockerfile="Dockerfile", context=".",
                      status="staged", digest=digest, tags=[], history=[], created_at=utcnow())
        session.add(build)
        session.flush()
        promotion = Promotion(request_key=uuid.uuid4().hex, build_id=build.id, image=label,
                              digest=digest, from_environment="staging",
                              to_environment="production", status="approved", actor="bench")
        session.add(promotion)
        session.flush()
        promotion_id = promotion.id
    sign_staged_image(runtime, build, label, digest)  # the push stage's proofs, not timed
    started = time.perf_counter()
    status = PromotionRun(runtime, promotion_id).run()
    elapsed = time.perf_counter() - started
    if status != "promoted":
        raise RuntimeError(f"promotion ended {status}")
    return elapsed


def sign_staged_image(runtime: Runtime, build: Build, label: str, digest: str) -> None:
    """Sign and attest the staging image with this installation's key, as the push stage does."""
    registry = runtime.settings.registry
    name = registry.path("staging", label)
    proof = sign_image(runtime, build, None, name, f"{registry.url}/{name}", digest,
                       RegistryClient(registry.base_url),
                       worker_signer(runtime.settings, runtime.db), [], None)
    with runtime.db.session() as session:
        session.get(Build, build.id).proof = proof


def skopeo_copy(label: str, digest: str) -> float:
    """Seconds `skopeo copy` takes between two repositories of the same registry."""
    target = f"{PREFIX}/skopeo-{uuid.uuid4().hex[:8]}/{label}"
    started = time.perf_counter()
    subprocess.run(["skopeo", "copy", "--quiet", "--preserve-digests",
                    "--src-tls-verify=false", "--dest-tls-verify=false",
                    f"docker://{REGISTRY_ADDR}/{PREFIX}/staging/{label}@{digest}",
                    f"docker://{REGISTRY_ADDR}/{target}:latest"], check=True, timeout=300)
    return time.perf_counter() - started


def main() -> None:
    """Measure, print the table, and end with the JSON line."""
    argparse.ArgumentParser(description=__doc__.splitlines()[0]).parse_args()
    client = docker.from_env(timeout=600)
    digests = {label: staged_image(client, label, size) for label, size in SIZES.items()}
    with tempfile.TemporaryDirectory() as folder:
        times = {label: ([], []) for label in digests}
        for _round in range(ROUNDS):  # interleaved, so load from others hits both alike
            for label, digest in digests.items():
                times[label][0].append(lockmaster_copy(Path(folder), label, digest))
                times[label][1].append(skopeo_copy(label, digest))
        results = {label: (statistics.median(lm), statistics.median(sk))
                   for label, (lm, sk) in times.items()}
    print(f"{'image':<8}{'size':>10}{'lockmaster s':>15}{'skopeo s':>12}{'ratio':>8}")
    for label, (lockmaster, skopeo) in results.items():
        print(f"{label:<8}{SIZES[label] // 2**20:>8}MB{lockmaster:>15.3f}{skopeo:>12.3f}"
              f"{lockmaster / skopeo:>8.2f}")
    ratio = max(lm / sk for lm, sk in results.values())
    large_over_small = results["large"][0] / results["small"][0]
    print(f"Lockmaster/skopeo (worse size): {ratio:.2f} (target <= 1.0); "
          f"Lockmaster 200MB/2MB: {large_over_small:.2f} (target <= 1.2); "
          f"median of {ROUNDS} rounds")
    print(json.dumps({"ratio": round(ratio, 3), "large_over_small": round(large_over_small, 3),
                      "lockmaster_seconds": {k: round(v[0], 4) for k, v in results.items()},
                      "skopeo_seconds": {k: round(v[1], 4) for k, v in results.items()}}))


if __name__ == "__main__":
    main()
