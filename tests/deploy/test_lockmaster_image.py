"""Lockmaster's own image: built offline on a debootstrapped Debian 12, it runs its CLI and web."""

import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from devstack.debianbase import ensure_debian_base

ROOT = Path(__file__).resolve().parents[2]


def _context(folder: Path) -> Path:
    """The committed project files plus the wheels it needs, as a build context."""
    files = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=ROOT,
                           check=True, capture_output=True, text=True).stdout.split()
    context = folder / "context"
    for name in files:
        source = ROOT / name
        if source.is_file():
            target = context / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(source.read_bytes())
            target.chmod(source.stat().st_mode)
    wheels = ROOT / "var" / "cache" / "wheels"
    # Debian 12's Python is 3.11.2: redis then also needs async-timeout, which pip does not
    # see from this newer Python (it evaluates python_full_version markers locally).
    subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--disable-pip-version-check",
                    "--only-binary=:all:", "-r", str(ROOT / "requirements.txt"),
                    "setuptools", "wheel", "async-timeout>=4.0.3", "-d", str(wheels)],
                   check=True, capture_output=True)
    (context / "wheels").mkdir()
    for wheel in wheels.iterdir():
        (context / "wheels" / wheel.name).write_bytes(wheel.read_bytes())
    return context


@pytest.fixture(scope="module")
def lockmaster_image(docker_client, tmp_path_factory):
    """The image, built with network none from the Dockerfile at the top of the project."""
    base = ensure_debian_base(docker_client, ROOT / "var" / "cache")
    context = _context(tmp_path_factory.mktemp("image"))
    tag = f"lockmaster-test/lockmaster:{uuid.uuid4().hex[:8]}"
    docker_client.images.build(
        path=str(context), tag=tag, network_mode="none", pull=False, rm=True, forcerm=True,
        buildargs={"BASE_IMAGE": base, "PIP_NO_INDEX": "1",
                   "PIP_FIND_LINKS": "/srv/lockmaster/app/wheels"})
    yield tag
    docker_client.images.remove(tag, force=True)


def test_the_image_runs_as_a_non_root_user(docker_client, lockmaster_image):
    config = docker_client.images.get(lockmaster_image).attrs["Config"]
    assert config["User"] == "lockmaster"
    assert config["Cmd"][:2] == ["lockmaster", "web"]


def test_the_cli_runs_in_the_image(docker_client, lockmaster_image):
    output = docker_client.containers.run(lockmaster_image, ["lockmaster", "--help"],
                                          network_mode="none", remove=True).decode()
    for command in ("web", "worker", "db"):
        assert f"  {command} " in output


def test_the_web_app_answers_healthz_inside_the_image(docker_client, lockmaster_image):
    script = ("printf 'repositories: []\\n' > /tmp/lockmaster.yml && "
              "exec lockmaster web --host 127.0.0.1 --port 8000 --workers 1")
    container = docker_client.containers.run(
        lockmaster_image, ["sh", "-c", script], network_mode="none", detach=True,
        environment={"LOCKMASTER_CONFIG": "/tmp/lockmaster.yml"}, mem_limit="512m",
        labels={"io.lockmaster.test": "image"})
    try:
        probe = ["python3", "-c", "import urllib.request as u; "
                 "print(u.urlopen('http://127.0.0.1:8000/healthz', timeout=2).read().decode())"]
        result = None
        for _ in range(60):
            result = container.exec_run(probe)
            if result.exit_code == 0:
                break
            time.sleep(0.5)
        assert result.exit_code == 0, container.logs().decode()[-2000:]
        assert '"status":"ok"' in result.output.decode().replace(" ", "")
    finally:
        container.remove(force=True)
