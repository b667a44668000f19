"""A pushed repository is hostile: its links, submodules and patterns never reach the worker."""

import contextlib
import gzip
import io
import json
import os
import signal
import socket
import subprocess
import tarfile
import time
import uuid
from pathlib import Path

import pytest

from builder.buildlog import live_lines
from config.gates import GATES
from tests.support.buildhelpers import build_log, build_of, push, start_worker, stop_worker
from tests.support.stack import registry_get, repo_entry, work

MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"


def only(*gates: str) -> dict:
    """A `checks:` mapping that runs only the named gates (the others cost seconds)."""
    return {gate: {"enabled": gate in gates} for gate in GATES}


def link(source_repo, name: str, target: str) -> None:
    """Add a symbolic link to the next commit of source_repo."""
    path = source_repo.path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.is_symlink() or path.exists():
        path.unlink()
    os.symlink(target, path)
    source_repo.repo.index.add([name])


def run_worker(app, tmp_path, environment: dict[str, str], seconds: float = 180) -> None:
    """A real `lockmaster worker --burst` with environment added to its own, until idle."""
    worker = start_worker(app, tmp_path / "worker.log", "--burst", extra_env=environment)
    try:
        worker.wait(timeout=seconds)
    except subprocess.TimeoutExpired as exc:
        raise AssertionError("the worker was still busy after "
                             f"{seconds}s:\n{(tmp_path / 'worker.log').read_text()[-3000:]}") \
            from exc
    finally:
        stop_worker(worker)


def image_files(registry_prefix: str, tag: str) -> tuple[dict[str, tarfile.TarInfo], bytes]:
    """Every file of a staged image as the registry serves it, and all its bytes unpacked."""
    base = f"{registry_prefix}/staging/acme/web"
    manifest = registry_get(f"{base}/manifests/{tag}", accept=MANIFEST).json()
    files, everything = {}, registry_get(f"{base}/blobs/{manifest['config']['digest']}").content
    for layer in manifest["layers"]:
        raw = gzip.decompress(registry_get(f"{base}/blobs/{layer['digest']}").content)
        everything += raw
        with tarfile.open(fileobj=io.BytesIO(raw)) as tar:
            files.update({member.name: member for member in tar})
    return files, everything


@pytest.mark.once
def test_links_to_the_workers_files_fail_clearly_or_reach_the_image_as_links(
        make_app, source_repo, secret, base_image, registry_prefix, tmp_path):
    session_key = f"session-key-{uuid.uuid4().hex}"
    app = make_app([repo_entry(source_repo, branches=["*"], checks=only("tests"))])
    client = app.test_client()
    copy_all = f"FROM {base_image}\nCOPY . /ctx/\nRUN ls -la /ctx\n"
    source_repo.commit({"Dockerfile": copy_all}, "Copy the context")
    link(source_repo, "environ", "/proc/self/environ")
    link(source_repo, "shadow", "/etc/shadow")
    link(source_repo, "zero", "/dev/zero")
    link(source_repo, "etc", "/etc")
    source_repo.commit({}, "Links in the context")
    attacks = {"context": push(client, source_repo, secret, ref="refs/heads/context")}
    for name, target in ((".dockerignore", "/proc/self/environ"), (".dockerignore", "/dev/zero"),
                         ("Dockerfile", "/proc/self/environ"),
                         (".lockmaster/tests.yml", "/etc/shadow")):
        link(source_repo, name, target)
        source_repo.commit({}, f"{name} -> {target}")
        branch = f"{name.strip('.').replace('/', '-')}-{target.split('/')[-1]}"
        attacks[(name, target)] = push(client, source_repo, secret, ref=f"refs/heads/{branch}")
        source_repo.repo.git.reset("--hard", "HEAD~1")

    run_worker(app, tmp_path, {"LOCKMASTER_SECRET_KEY": session_key})

    shown = ""
    for attack, build_id in attacks.items():
        build = build_of(client, build_id)
        shown += json.dumps(build) + build_log(client, build_id)
        if attack == "context":
            assert build["status"] == "staged", build["error"]
            continue
        name, target = attack
        assert build["status"] in ("failed", "rejected"), (attack, build)
        assert f"'{name}' is a symbolic link" in build["error"], (attack, build["error"])
    files, everything = image_files(registry_prefix, "context")
    for name, target in (("environ", "/proc/self/environ"), ("shadow", "/etc/shadow"),
                         ("zero", "/dev/zero"), ("etc", "/etc")):
        assert files[f"ctx/{name}"].issym() and files[f"ctx/{name}"].linkname == target
    assert not any(path.startswith("ctx/etc/") for path in files)
    host_secrets = [session_key, secret]
    with contextlib.suppress(OSError):
        host_secrets.append(Path("/etc/shadow").read_text().splitlines()[0])
    for value in host_secrets:
        assert value not in shown and value.encode() not in everything


def git_daemon(root) -> tuple[subprocess.Popen, int]:
    """`git daemon` serving every repository under root on a free loopback port, in a process
    group of its own (`git` starts git-daemon as its child: stop_daemon stops both)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    daemon = subprocess.Popen(["git", "daemon", "--reuseaddr", "--export-all",
                               "--listen=127.0.0.1", f"--port={port}", f"--base-path={root}",
                               str(root)], stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with socket.socket() as attempt:
            if attempt.connect_ex(("127.0.0.1", port)) == 0:
                return daemon, port
        time.sleep(0.05)
    stop_daemon(daemon)
    raise AssertionError("git daemon did not start")


def stop_daemon(daemon: subprocess.Popen) -> None:
    """Stop git and the git-daemon it started (killing git alone left git-daemon running)."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(daemon.pid, signal.SIGKILL)
    daemon.wait()


@pytest.mark.once
def test_submodules_on_other_hosts_or_local_paths_are_refused(make_app, source_repo, secret,
                                                              tmp_path):
    library = source_repo.path.parent / "lib"
    library.mkdir()
    subprocess.run(["git", "init", "-q", "-b", "main", str(library)], check=True)
    subprocess.run(["git", "-C", str(library), "-c", "user.name=a", "-c", "user.email=a@b",
                    "commit", "-q", "--allow-empty", "-m", "lib"], check=True)
    lib_sha = subprocess.run(["git", "-C", str(library), "rev-parse", "HEAD"], check=True,
                             capture_output=True, text=True).stdout.strip()
    daemon, port = git_daemon(source_repo.path.parent)
    try:
        app = make_app([repo_entry(source_repo, branches=["*"], checks=only(),
                                   clone_url=f"git://127.0.0.1:{port}/web")])
        client = app.test_client()
        builds = {}
        for branch, url in (("other-host", f"git://localhost:{port}/lib"),
                            ("local-path", f"file://{library}")):
            source_repo.repo.git.update_index("--add", "--cacheinfo", f"160000,{lib_sha},lib")
            source_repo.commit({".gitmodules": f'[submodule "lib"]\n\tpath = lib\n\turl = {url}\n'},
                               f"Submodule at {url}")
            builds[url] = push(client, source_repo, secret, ref=f"refs/heads/{branch}")
        work(app)
    finally:
        stop_daemon(daemon)
    for url, build_id in builds.items():
        build = build_of(client, build_id)
        assert (build["status"], build["failed_stage"]) == ("failed", "clone"), build
        assert f"submodule 'lib' at {url} is refused" in build["error"]


@pytest.mark.once
def test_a_catastrophic_pattern_fails_its_test_and_frees_the_worker(make_app, source_repo, secret,
                                                                    tmp_path):
    app = make_app([repo_entry(source_repo, branches=["*"], checks=only("tests"))])
    client = app.test_client()
    tests = ("tests:\n"
             "  - name: catastrophic\n    command: \"printf 'a%.0s' $(seq 40); echo '!'\"\n"
             "    output: '^(a+)+$'\n"
             "  - name: lookbehind\n    command: echo ab\n    output: '(?<=a)b'\n")
    source_repo.commit({".lockmaster/tests.yml": tests}, "Hostile patterns")
    hostile = push(client, source_repo, secret, ref="refs/heads/hostile")
    source_repo.commit({".lockmaster/tests.yml": "tests: []\n"}, "No tests")
    following = push(client, source_repo, secret, ref="refs/heads/following")

    run_worker(app, tmp_path, {}, seconds=90)

    checks = {c.get("test"): c for c in build_of(client, hostile)["checks"]}
    assert checks["catastrophic"]["status"] == "fail"
    assert "output does not match /^(a+)+$/" in checks["catastrophic"]["summary"]
    assert checks["lookbehind"]["status"] == "fail"
    assert "uses a lookaround" in checks["lookbehind"]["summary"]
    assert build_of(client, following)["status"] == "staged"


@pytest.mark.once
def test_an_image_over_the_size_limit_is_judged_by_the_engine_and_never_exported(
        make_app, source_repo, secret, docker_client):
    app = make_app([repo_entry(source_repo, checks={
        **only("size", "secrets"), "size": {"enabled": True, "max_uncompressed_mb": 0.5}})])
    client = app.test_client()
    build_id = push(client, source_repo, secret)
    work(app)
    build = build_of(client, build_id)
    checks = {c["name"]: c for c in build["checks"]}
    assert build["status"] == "rejected"
    assert checks["size"]["status"] == "fail"
    assert "over the 0.5 MB limit (max_uncompressed_mb): the engine measures" in \
        checks["size"]["summary"]
    assert "the image was not exported" in checks["size"]["summary"]
    assert checks["secrets"]["status"] == "error"
    assert checks["secrets"]["summary"].startswith("not run: ")


@pytest.mark.once
def test_secrets_are_masked_before_a_log_line_is_stored_or_streamed(app, client, source_repo,
                                                                    secret, base_image):
    token = "ghp_" + uuid.uuid4().hex + "abcd"
    half = len(secret) // 2
    source_repo.commit({"Dockerfile": (
        f"FROM {base_image}\n"
        f"RUN printf '{secret[:half]}' && sleep 1 && printf '{secret[half:]}\\n' && "
        f"printf '{token[:12]}' && sleep 1 && echo '{token[12:]}'\n")}, "Print secrets in halves")
    build_id = push(client, source_repo, secret)
    work(app)
    stored = build_log(client, build_id)
    streamed = "\n".join(live_lines(app.extensions["lockmaster"].redis, build_id))
    for shown in (stored, streamed):
        assert secret not in shown and token not in shown
        assert f"***[masked, {len(secret)} chars]" in shown
        assert f"ghp_***[masked, {len(token)} chars]" in shown
