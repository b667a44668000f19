"""docker-compose.yml is valid and says what the code reads: services, commands, environment."""

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from app import cli
from config import ENVIRONMENT_VARIABLES, SigningSettings
from registry.signing import key_dir

ROOT = Path(__file__).resolve().parents[2]
LOCKMASTER_SERVICES = {"migrate": ["db", "upgrade"], "web": ["web"], "worker": ["worker"],
                       "registry-setup": ["registry-setup"]}


@pytest.fixture(scope="module")
def compose(tmp_path_factory) -> dict:
    """The compose file as `docker-compose config` resolves it with the example .env."""
    folder = tmp_path_factory.mktemp("compose")
    shutil.copy(ROOT / "docker-compose.yml", folder / "docker-compose.yml")
    shutil.copy(ROOT / ".env.example", folder / ".env")
    for service in ("web", "worker"):
        shutil.copy(ROOT / f"{service}.env.example", folder / f"{service}.env")
    shutil.copy(ROOT / "lockmaster.example.yml", folder / "lockmaster.yml")
    result = subprocess.run(["docker-compose", "config"], cwd=folder, capture_output=True,
                            text=True, check=False)
    assert result.returncode == 0, result.stderr
    return yaml.safe_load(result.stdout)


def test_the_production_services_are_all_there(compose):
    assert set(compose["services"]) == {"migrate", "web", "worker", "redis", "postgres",
                                        "registry", "registry-setup", "realm"}


@pytest.mark.parametrize(("service", "args"), LOCKMASTER_SERVICES.items())
def test_lockmaster_services_run_commands_the_cli_has(compose, service, args):
    command = compose["services"][service]["command"]
    assert command[0] == "lockmaster"
    group = cli
    for word in command[1:1 + len(args)]:
        assert word in group.commands, f"`lockmaster {' '.join(command[1:])}` does not exist"
        group = group.commands[word]
    assert command[1:1 + len(args)] == args
    assert Path(compose["services"][service]["build"]["context"]).name.startswith("compose")


@pytest.mark.parametrize("service", LOCKMASTER_SERVICES)
def test_lockmaster_services_set_only_variables_the_code_reads(compose, service):
    environment = compose["services"][service]["environment"]
    ours = {name for name in environment if name.startswith("LOCKMASTER_")}
    assert ours <= set(ENVIRONMENT_VARIABLES), ours - set(ENVIRONMENT_VARIABLES)
    for needed in ("LOCKMASTER_DATABASE_URL", "LOCKMASTER_REDIS_URL", "LOCKMASTER_CONFIG",
                   "LOCKMASTER_DATA_DIR"):
        assert needed in environment
    assert environment["LOCKMASTER_DATABASE_URL"].startswith("postgresql+psycopg://")
    assert "@postgres:5432/" in environment["LOCKMASTER_DATABASE_URL"]
    assert environment["LOCKMASTER_REDIS_URL"].startswith("redis://redis:6379/")


def test_state_is_on_volumes_and_redis_persists(compose):
    services = compose["services"]
    assert "--appendonly" in services["redis"]["command"]
    for name, path in (("redis", "/data"), ("postgres", "/var/lib/postgresql/data"),
                       ("registry", "/var/lib/registry")):
        mounts = [_mount(v) for v in services[name]["volumes"]]
        assert (path, "volume") in mounts, (name, mounts)


def _mount(volume) -> tuple[str, str]:
    """(target, kind) of a volume in long or short (`name:/path:rw`) syntax."""
    if isinstance(volume, dict):
        return volume["target"], volume["type"]
    source, target = volume.split(":")[:2]
    return target, "bind" if source.startswith(("/", ".")) else "volume"


def test_the_realm_balances_every_web_replica(compose):
    realm = compose["services"]["realm"]
    assert "ports" not in compose["services"]["web"] and realm["ports"]
    config = (ROOT / "ops" / "haproxy" / "realm.cfg").read_text()
    assert "server-template web 8 web:8000" in config and "option httpchk GET /healthz" in config
    checked = subprocess.run(["haproxy", "-c", "-f", str(ROOT / "ops" / "haproxy" / "realm.cfg")],
                             capture_output=True, text=True, check=False)
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_workers_scale_and_have_healthy_dependencies(compose):
    worker = compose["services"]["worker"]
    assert "ports" not in worker and "container_name" not in worker  # --scale worker=N works
    assert worker["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    for name in ("web", "redis", "postgres"):
        assert "healthcheck" in compose["services"][name]


def test_the_registry_uses_lockmasters_tokens_notifications_and_tls(compose, tmp_path):
    services = compose["services"]
    shared = "/etc/lockmaster/registry"
    for name in ("registry", "registry-setup", "web", "worker"):
        assert (shared, "volume") in [_mount(v) for v in services[name]["volumes"]], name
    assert services["registry"]["command"] == [f"{shared}/config.yml"]
    assert services["registry"]["depends_on"]["registry-setup"]["condition"] == \
        "service_completed_successfully"
    web = services["web"]["command"]
    assert web[web.index("--certfile") + 1] == f"{shared}/web.crt"
    assert "https://" in " ".join(services["web"]["healthcheck"]["test"])
    setup = services["registry-setup"]["command"]
    assert setup[setup.index("--events-url") + 1] == "https://web:8000"
    options = {p.opts[0] for p in cli.commands["registry-setup"].params}
    assert {w for w in setup if w.startswith("--")} <= options


def test_registry_setup_writes_a_config_the_registry_accepts(tmp_path, monkeypatch):
    from click.testing import CliRunner

    config = tmp_path / "lockmaster.yml"
    config.write_text("registry: {url: 'registry:5000', insecure: false, auth: token, "
                      "events_secret_env: EVENTS, ca_file: /x/ca.crt}\nrepositories: []\n")
    monkeypatch.setenv("LOCKMASTER_CONFIG", str(config))
    monkeypatch.setenv("LOCKMASTER_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("EVENTS", "s3cret")
    out = tmp_path / "registry"
    result = CliRunner().invoke(cli, ["registry-setup", "--dir", str(out), "--web-url",
                                      "https://lm.example.com", "--events-url",
                                      "https://web:8000", "--tls-host", "registry"])
    assert result.exit_code == 0, result.output
    written = yaml.safe_load((out / "config.yml").read_text())
    assert written["auth"]["token"] == {
        "realm": "https://lm.example.com/auth/token", "service": "lockmaster-registry",
        "issuer": "lockmaster", "rootcertbundle": str(out / "bundle.pem")}
    endpoint = written["notifications"]["endpoints"][0]
    assert endpoint["url"] == "https://web:8000/registry/events"
    assert endpoint["headers"] == {"Authorization": ["Bearer s3cret"]}
    assert written["http"]["tls"]["certificate"] == str(out / "registry.crt")
    assert written["http"]["debug"] == {"addr": "127.0.0.1:5001",
                                        "prometheus": {"enabled": True, "path": "/metrics"}}
    for name in ("ca.crt", "registry.crt", "registry.key", "web.crt", "web.key", "bundle.pem"):
        assert (out / name).exists(), name


def test_each_service_gets_only_its_own_secrets(compose):
    services = compose["services"]
    assert "LOCKMASTER_SECRET_KEY" in services["web"]["environment"]
    for name in ("worker", "migrate", "registry-setup"):
        assert "LOCKMASTER_SECRET_KEY" not in services[name]["environment"], name
    assert "REGISTRY_EVENTS_SECRET" not in services["worker"]["environment"]
    # web.env and worker.env of the examples (compose inlines them into `environment`).
    holders = {name for name, service in services.items()
               if "ACME_WEB_SECRET" in (service.get("environment") or {})}
    assert holders == {"web"}
    holders = {name for name, service in services.items()
               if "ACME_NOTIFY_SECRET" in (service.get("environment") or {})}
    assert holders == {"worker"}
    keys = str(key_dir(Path(services["web"]["environment"]["LOCKMASTER_DATA_DIR"])))
    web_keys = [v for v in services["web"]["volumes"] if _mount(v) == (keys, "volume")]
    assert web_keys, "the web keeps the token service's signing keys on a volume of its own"
    assert [_volume_name(v) for v in services["registry-setup"]["volumes"]
            if _mount(v)[0] == keys] == [_volume_name(web_keys[0])]  # the bundle of that key
    shared = {_volume_name(v) for v in services["worker"]["volumes"]}
    assert _volume_name(web_keys[0]) not in shared
    assert all(_mount(v)[0] != keys for v in services["worker"]["volumes"])
    # The image-signing key: on the workers' volume only (signing.key_path's default folder).
    data_dir = Path(services["worker"]["environment"]["LOCKMASTER_DATA_DIR"])
    signing = str(SigningSettings().key_path(data_dir).parent)
    worker_signing = [v for v in services["worker"]["volumes"]
                      if _mount(v) == (signing, "volume")]
    assert worker_signing, "the workers keep the image-signing key on a volume of their own"
    for name, service in services.items():
        if name != "worker":
            assert _volume_name(worker_signing[0]) not in {
                _volume_name(v) for v in service.get("volumes") or []}, name


def _volume_name(volume) -> str:
    return volume["source"] if isinstance(volume, dict) else volume.split(":")[0]
