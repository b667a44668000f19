"""What proofs cost: commit→staged with and without signing/attestation, and a promotion that
verifies and carries the proofs against `skopeo copy` of the same image.

Run: LOCKMASTER_TEST_REDIS_DB=N flock /tmp/lockmaster-bench.lock \
       .venv/bin/python -m bench.provenance
Needs the local registry, dockerd and Redis. Builds run in this process (BuildRun, the default
gates, SBOM included); "without" replaces the signing step of the push stage by nothing, in the
same run, interleaved. The last line is JSON: sign_overhead (with/without, target <= 1.05) and
verify_promote_over_skopeo (target <= 1.2, the worse of a 2 MB and a 200 MB image).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
import uuid
from contextlib import contextmanager
from pathlib import Path

import docker
from cryptography.hazmat.primitives.asymmetric import ec

from bench.promotion_copy import SIZES, lockmaster_copy, skopeo_copy, staged_image
from bootstrap import Runtime
from builder import pipeline
from builder.pipeline import BuildRun
from config import load_settings
from devstack.baseimage import ensure_base_image
from devstack.services import REGISTRY_ADDR
from provenance.keys import ImageSigner
from record.migrate import upgrade
from record.models import Build
from tests.support.sourcerepo import SourceRepo

ROUNDS = 11  # builds with and without proofs (interleaved; medians of this many)
PROMOTION_ROUNDS = 15  # a promotion is short: more rounds steady its median
REDIS_DB = int(os.environ.get("LOCKMASTER_TEST_REDIS_DB", "14"))


def installation(workdir: Path, source: SourceRepo) -> Runtime:
    """A Lockmaster installation building source as bench/provenance (default gates)."""
    prefix = f"lockmaster-bench/prov-{uuid.uuid4().hex[:8]}"
    config = workdir / "lockmaster.yml"
    config.write_text(json.dumps({
        "registry": {"url": REGISTRY_ADDR, "insecure": True, "staging": f"{prefix}/staging",
                     "production": f"{prefix}/production"},
        "repositories": [{"name": "bench/provenance", "provider": "github",
                          "secret_env": "BENCH", "clone_url": str(source.path),
                          "image": "bench/provenance", "branches": ["main"]}]}))
    settings = load_settings({"LOCKMASTER_DATA_DIR": str(workdir / "var"),
                              "LOCKMASTER_CONFIG": str(config),
                              "LOCKMASTER_REDIS_URL": f"redis://127.0.0.1:6379/{REDIS_DB}"})
    upgrade(settings.database_url)
    return Runtime(settings)


@contextmanager
def timed_signing(seconds: list[float]):
    """Record how long each build's signing step takes (the overhead, measured directly)."""
    real = pipeline.sign_staged

    def sign_staged(*args, **kwargs):
        started = time.perf_counter()
        try:
            return real(*args, **kwargs)
        finally:
            seconds.append(time.perf_counter() - started)

    pipeline.sign_staged = sign_staged
    try:
        yield
    finally:
        pipeline.sign_staged = real


@contextmanager
def unsigned():
    """The push stage without its signing step (the baseline), and without the upload
    sessions the build stage opens ahead for the proofs."""
    saved = pipeline.sign_staged, pipeline.worker_signer_or_fail, pipeline.proof_upload_slots
    pipeline.sign_staged = lambda *args, **kwargs: {"signature": "-", "attestation": "-"}
    unused = ImageSigner(ec.generate_private_key(ec.SECP256R1()))  # never signs anything
    pipeline.worker_signer_or_fail = lambda runtime: unused
    pipeline.proof_upload_slots = lambda *args: None
    try:
        yield
    finally:
        pipeline.sign_staged, pipeline.worker_signer_or_fail, pipeline.proof_upload_slots = saved


def commit_to_staged(runtime: Runtime, source: SourceRepo, n: int) -> float:
    """Seconds from a new commit's build row to `staged`, the build run in this process."""
    sha = source.commit({"app.txt": f"change {n} {uuid.uuid4()}\n"}, f"Change {n}")
    with runtime.db.session() as session:
        build = Build(repository="bench/provenance", provider="github", ref="refs/heads/main",
                      commit_sha=sha, clone_url=str(source.path), dockerfile="Dockerfile",
                      context=".", pusher="bench", history=[])
        session.add(build)
        session.flush()
        build_id = build.id
    started = time.perf_counter()
    status = BuildRun(runtime, build_id).run()
    elapsed = time.perf_counter() - started
    if status != "staged":
        raise RuntimeError(f"build {build_id} ended {status}")
    return elapsed


def signing_overhead(folder: Path, client: docker.DockerClient) -> tuple[float, float, float]:
    """Median commit→staged seconds with and without proofs (interleaved), and the median
    time of the signing step itself."""
    source = SourceRepo.create(folder / "src", ensure_base_image(client))
    runtime = installation(folder, source)
    with_proofs, without, signing = [], [], []
    try:
        commit_to_staged(runtime, source, -1)  # warm: layer cache, syft, the key
        for n in range(ROUNDS):
            with timed_signing(signing):
                with_proofs.append(commit_to_staged(runtime, source, 2 * n))
            with unsigned():
                without.append(commit_to_staged(runtime, source, 2 * n + 1))
    finally:  # the worker tags each staged image locally: only this run's go
        staged = f"{runtime.settings.registry.repository('staging', 'bench/provenance')}:"
        for image in client.images.list():
            for tag in image.tags:
                if tag.startswith(staged):
                    client.images.remove(tag)
    return (statistics.median(with_proofs), statistics.median(without),
            statistics.median(signing))


def promotion_against_skopeo(folder: Path, client: docker.DockerClient) -> dict:
    """Median promote-job seconds (verify + copy + proofs) and skopeo seconds, per size."""
    digests = {label: staged_image(client, label, size) for label, size in SIZES.items()}
    times = {label: ([], []) for label in digests}
    for _round in range(PROMOTION_ROUNDS):
        for label, digest in digests.items():
            times[label][0].append(lockmaster_copy(folder, label, digest))
            times[label][1].append(skopeo_copy(label, digest))
    return {label: (statistics.median(lm), statistics.median(sk))
            for label, (lm, sk) in times.items()}


def main() -> None:
    """Measure both, print the table, end with the JSON line."""
    argparse.ArgumentParser(description=__doc__.splitlines()[0]).parse_args()
    client = docker.from_env(timeout=600)
    with tempfile.TemporaryDirectory() as folder:
        signed, plain, step = signing_overhead(Path(folder) / "build", client)
        promotions = promotion_against_skopeo(Path(folder) / "promote", client)
    print(f"commit→staged: with proofs {signed:.3f}s, without {plain:.3f}s "
          f"(median of {ROUNDS}); the signing step itself: {step:.3f}s")
    for label, (lockmaster, skopeo) in promotions.items():
        print(f"promotion {label}: verify+copy+proofs {lockmaster:.3f}s, skopeo copy "
              f"{skopeo:.3f}s, ratio {lockmaster / skopeo:.2f}")
    print(json.dumps({"sign_overhead": round(signed / plain, 3),
                      "verify_promote_over_skopeo": round(max(lm / sk for lm, sk
                                                                  in promotions.values()), 3),
                      "staged_seconds": {"with": round(signed, 3), "without": round(plain, 3),
                                         "signing_step": round(step, 4)},
                      "promotion_seconds": {k: [round(v[0], 4), round(v[1], 4)]
                                            for k, v in promotions.items()}}))


if __name__ == "__main__":
    main()
