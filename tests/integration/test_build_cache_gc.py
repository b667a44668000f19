"""`gc.build_cache_max_gb` against an engine of the test's own: a build through Lockmaster fills
a cache mount past the bound, `lockmaster gc` prunes that engine's cache under it (engine-wide,
as the docs say) and leaves its images; the machine's engine is not touched."""

from __future__ import annotations

import uuid

import docker
import pytest
from click.testing import CliRunner

from app import cli
from builder.gc import disk_usage
from config.gates import GATES
from devstack.baseimage import ensure_base_image
from tests.support.buildhelpers import build_log, build_of, lockmaster_env, push
from tests.support.engines import dedicated_engine
from tests.support.stack import registry_get, repo_entry, work

pytestmark = pytest.mark.once
FILL_MB = 1100  # a cache mount a little over the 1 GB bound


def _cache_bytes(client: docker.DockerClient) -> int:
    return disk_usage(client).get("BuilderSize") or 0


def _gc(app, url: str, *args: str) -> str:
    shown = CliRunner().invoke(cli, ["gc", *args], env={**lockmaster_env(app), "DOCKER_HOST": url})
    assert shown.exit_code == 0, shown.output
    return shown.output


def test_gc_prunes_the_build_cache_of_the_workers_engine_under_its_bound(
        make_app, source_repo, secret, registry_prefix, monkeypatch):
    machine_engine = docker.from_env()
    machine_records = len(disk_usage(machine_engine).get("BuildCache") or [])
    with dedicated_engine() as engine:
        monkeypatch.setenv("DOCKER_HOST", engine.url)  # the worker's and the CLI's engine
        base = ensure_base_image(engine.client)
        app = make_app([repo_entry(source_repo, checks={g: {"enabled": False} for g in GATES})],
                       gc={"build_cache_max_gb": 1})
        marker = uuid.uuid4().hex
        source_repo.commit({"Dockerfile": (
            f"FROM {base}\nRUN --mount=type=cache,target=/var/cache/fill "
            f"dd if=/dev/zero of=/var/cache/fill/{marker} bs=1M count={FILL_MB} 2>/dev/null "
            "&& echo filled\nCOPY app.txt /app.txt\n")}, "Fill a cache mount")
        client = app.test_client()
        build_id = push(client, source_repo, secret)
        work(app)
        build = build_of(client, build_id)
        assert build["status"] == "staged", (build["error"], build_log(client, build_id))
        staged = f"127.0.0.1:5000/{registry_prefix}/staging/acme/web"
        assert engine.client.images.list(name=staged)
        over = _cache_bytes(engine.client)
        assert over > 1 << 30

        planned = _gc(app, engine.url, "--dry-run")
        assert (f"would remove 1 build cache\n  {over / 2**30:.1f} GB of build cache "
                "(engine-wide), pruned to 1 GB") in planned
        assert _cache_bytes(engine.client) == over  # a dry run prunes nothing

        assert "removed 1 build cache\n" in _gc(app, engine.url)
        assert _cache_bytes(engine.client) <= 1 << 30
        assert engine.client.images.list(name=staged)  # images are not build cache
        assert registry_get(f"{registry_prefix}/staging/acme/web/tags/list").status_code == 200

        assert "removed 0 build cache\n" in _gc(app, engine.url)  # under the bound now
    assert len(disk_usage(machine_engine).get("BuildCache") or []) >= machine_records
