"""Benchmark: all seven gates through Lockmaster vs syft + hadolint run standalone.

Builds a reference image (busybox base, 300 Debian packages, 60 Python dist-infos, ~24 MB of
files over several layers), then times, in the same run and on the same image:
  baseline    `syft scan docker:<image>` then `hadolint Dockerfile` (each standalone);
  lockmaster  one export of the image + every gate (size, lint, sbom, vulnerabilities,
              secrets, policy, tests with a command and a structure test), concurrently.
Prints a table of the median of a few rounds; the last line is JSON with `ratio`.
Usage: .venv/bin/python -m bench.gates [--rounds N]
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import random
import resource
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import docker

from builder.checks.advisorydb import import_advisories, records_for
from builder.checks.archive import ImageArchive
from builder.checks.context import GateContext
from builder.checks.runner import run_all
from builder.checks.tools import OFFLINE_ENV, tool_path
from config.gates import GATES, ChecksPolicy
from devstack.baseimage import ensure_base_image
from record.db import Database
from record.migrate import upgrade

LABEL = "io.lockmaster.bench"


def reference_context(folder: Path, base: str) -> None:
    """Write the reference image's Dockerfile and files."""
    rng = random.Random(7)
    status = "".join(f"Package: pkg{n}\nStatus: install ok installed\nArchitecture: amd64\n"
                     f"Version: 1:{n % 9}.{n % 13}-{n % 5}+deb12u1\nDescription: p{n}\n\n"
                     for n in range(300))
    files = {"rootfs/var/lib/dpkg/status": status,
             "rootfs/etc/os-release": 'ID=debian\nVERSION_ID="12"\n'}
    for n in range(60):
        info = f"rootfs/usr/lib/python3/dist-packages/lib{n}-1.{n}.0.dist-info"
        files[f"{info}/METADATA"] = f"Metadata-Version: 2.1\nName: lib{n}\nVersion: 1.{n}.0\n"
        files[f"{info}/RECORD"] = f"lib{n}/__init__.py,,\n"
    for n in range(160):
        files[f"data/text{n}.txt"] = base64.b64encode(rng.randbytes(75_000)).decode()
    for name, content in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(content)
    (folder / "blob.bin").write_bytes(rng.randbytes(8_000_000))
    (folder / "Dockerfile").write_text(
        f"FROM {base}\nCOPY rootfs/ /\nCOPY data/ /srv/data/\nCOPY blob.bin /srv/blob.bin\n"
        "RUN mkdir -p /app && echo 'version 1' > /app/version\n"
        "USER 1000\nCMD [\"cat\", \"/app/version\"]\n")
    (folder / ".lockmaster").mkdir()
    (folder / ".lockmaster" / "tests.yml").write_text(
        "tests:\n  - name: version\n    command: cat /app/version\n    output: ['version 1']\n"
        "  - name: layout\n    structure: {exists: [/app/version], absent: [/root/.ssh]}\n")


def advisories(folder: Path) -> Database:
    """A database with one advisory per Debian package of the image."""
    records = folder / "osv"
    records.mkdir()
    for n in range(300):
        record = {"id": f"DSA-{n}-1", "affected": [{
            "package": {"ecosystem": "Debian:12", "name": f"pkg{n}"},
            "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"},
                                                         {"fixed": "1:0.0-0"}]}]}]}
        (records / f"DSA-{n}-1.json").write_text(json.dumps(record))
    url = f"sqlite:///{folder / 'bench.db'}"
    upgrade(url)
    db = Database(url)
    import_advisories(db, records)
    return db


def cpu_seconds() -> float:
    """CPU time of this process and its finished children (syft, hadolint) so far."""
    own, children = (resource.getrusage(w) for w in (resource.RUSAGE_SELF,
                                                      resource.RUSAGE_CHILDREN))
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def baseline(image_id: str, dockerfile: Path) -> float:
    """syft then hadolint, each run standalone as a user would."""
    env = {**OFFLINE_ENV, "PATH": "/usr/bin:/bin"}
    started = time.monotonic()
    subprocess.run([tool_path("syft"), "scan", f"docker:{image_id}", "-q", "-o",
                    "cyclonedx-json=/dev/null"], check=True, env=env)
    subprocess.run([tool_path("hadolint"), "--no-fail", "-f", "json", str(dockerfile)],
                   check=True, capture_output=True)
    return time.monotonic() - started


def lockmaster(client, image_id: str, folder: Path, db: Database) -> tuple[float, list]:
    """One export of the image, then all gates concurrently, as a build runs them."""
    started = time.monotonic()
    with tempfile.TemporaryDirectory(dir=folder) as scratch:
        tar = Path(scratch) / "image.tar"
        with tar.open("wb") as out:
            for chunk in client.images.get(image_id).save(named=False):
                out.write(chunk)
        context = GateContext(build_id="bench", image_id=image_id, archive=ImageArchive(tar),
                              policy=ChecksPolicy(), workspace=folder,
                              dockerfile=folder / "Dockerfile", docker=client,
                              advisories=lambda names: records_for(db, names))
        results = run_all(context, list(GATES))
    return time.monotonic() - started, results


def main() -> None:
    """Run the rounds and print the table and the JSON line."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    rounds = parser.parse_args().rounds
    client = docker.from_env(timeout=300)
    with tempfile.TemporaryDirectory(prefix="lockmaster-bench-") as tmp:
        folder = Path(tmp)
        reference_context(folder, ensure_base_image(client))
        image, _ = client.images.build(path=str(folder), network_mode="none", rm=True,
                                       pull=False, labels={LABEL: "gates"})
        try:
            db = advisories(folder)
            base_times, lm_times, base_cpu, lm_cpu = [], [], [], []
            for _ in range(rounds):
                cpu = cpu_seconds()
                base_times.append(baseline(image.id, folder / "Dockerfile"))
                base_cpu.append(cpu_seconds() - cpu)
                cpu = cpu_seconds()
                elapsed, results = lockmaster(client, image.id, folder, db)
                lm_times.append(elapsed)
                lm_cpu.append(cpu_seconds() - cpu)
            size = image.attrs["Size"]
        finally:
            client.images.remove(image.id, force=True)
    base, ours = statistics.median(base_times), statistics.median(lm_times)
    print(f"reference image: {size / 1e6:.1f} MB, {rounds} rounds (median)")
    print(f"load average at the end: {os.getloadavg()[0]:.1f} (the machine is shared)")
    print(f"{'run':<44}{'wall s':>10}{'cpu s':>10}")
    print(f"{'baseline: syft + hadolint standalone':<44}{base:>10.2f}"
          f"{statistics.median(base_cpu):>10.2f}")
    print(f"{'lockmaster: export + all 7 gates':<44}{ours:>10.2f}"
          f"{statistics.median(lm_cpu):>10.2f}")
    for result in results:
        label = f"{result.name}[{result.test}]" if result.test else result.name
        print(f"  {label:<42}{result.duration_ms / 1000:>10.2f}  {result.status.value}")
    print(json.dumps({"ratio": round(ours / base, 3), "lockmaster_seconds": round(ours, 3),
                      "baseline_seconds": round(base, 3), "image_mb": round(size / 1e6, 1),
                      "rounds": rounds, "rounds_wall": {"baseline": base_times,
                                                        "lockmaster": lm_times}}))


if __name__ == "__main__":
    main()
