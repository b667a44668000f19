"""lockmaster.yml validation: every mistake names the file, the line and the key."""

import re
from pathlib import Path

import pytest

from config import ConfigError, load_settings, parse_config

GOOD = """\
registry:
  url: 127.0.0.1:5000
  insecure: true
  staging: staging
  production: production
repositories:
  - name: acme/web
    provider: github
    secret_env: ACME_WEB_SECRET
    clone_url: /srv/git/acme/web.git
    image: acme/web
    branches: ["main", "release/*"]
    tags: ["v*"]
    dockerfile: docker/Dockerfile
    context: .
"""


def test_the_design_example_parses():
    registry, repositories, limits = parse_config(GOOD)
    assert registry.repository("staging", "acme/web") == "127.0.0.1:5000/staging/acme/web"
    assert registry.base_url == "http://127.0.0.1:5000"
    repo = repositories[0]
    assert (repo.name, repo.provider, repo.branches, repo.tags) == (
        "acme/web", "github", ("main", "release/*"), ("v*",))
    assert repo.dockerfile == "docker/Dockerfile"
    assert limits["max_webhook_bytes"] == 25 * 1024 * 1024
    assert limits["clone_hosts"] == ()


def test_an_unknown_key_is_named_with_its_line():
    text = GOOD.replace("    tags:", "    brnches: [main]\n    tags:")
    with pytest.raises(ConfigError, match=r"line 13: unknown key 'brnches' in repositories\[0\]"):
        parse_config(text, "lockmaster.yml")


def test_an_unknown_top_level_key_is_named():
    with pytest.raises(ConfigError, match=r"line 1: unknown key 'regstry'"):
        parse_config("regstry: {}\n")


@pytest.mark.parametrize(("change", "message"), [
    (("provider: github", "provider: svn"), "'provider' in repositories\\[0\\] must be one of"),
    (("    secret_env: ACME_WEB_SECRET\n", ""), "needs 'secret_env'"),
    (("name: acme/web", "name: web"), "full name"),
    (('branches: ["main", "release/*"]', "branches: [1, 2]"), "list of strings"),
    (("url: 127.0.0.1:5000", "url: http://127.0.0.1:5000"), "without a scheme"),
    (("insecure: true", "insecure: maybe"), "'insecure' in registry must be a bool"),
])
def test_bad_values_are_explained(change, message):
    with pytest.raises(ConfigError, match=message):
        parse_config(GOOD.replace(*change))


def test_a_repository_configured_twice_is_an_error():
    twice = GOOD + GOOD[GOOD.index("  - name"):]
    with pytest.raises(ConfigError, match="configured twice"):
        parse_config(twice)


def test_invalid_yaml_is_an_error():
    with pytest.raises(ConfigError, match="not valid YAML"):
        parse_config("repositories: [\n")


def test_settings_come_from_the_environment(tmp_path):
    config = tmp_path / "lm.yml"
    config.write_text(GOOD)
    settings = load_settings({"LOCKMASTER_CONFIG": str(config),
                              "LOCKMASTER_DATA_DIR": str(tmp_path / "data"),
                              "LOCKMASTER_REDIS_URL": "redis://127.0.0.1:6379/3"})
    assert settings.database_url == f"sqlite:///{tmp_path / 'data' / 'lockmaster.db'}"
    assert settings.redis_url.endswith("/3")
    assert settings.repository("github", "ACME/web").name == "acme/web"
    assert settings.repository("gitlab", "acme/web") is None


def test_a_missing_config_file_says_what_to_do(tmp_path):
    with pytest.raises(ConfigError, match="LOCKMASTER_CONFIG"):
        load_settings({"LOCKMASTER_CONFIG": str(tmp_path / "nope.yml")})


@pytest.mark.parametrize(("entry", "message"), [
    ("{url: 'ftp://x'}", "http\\(s\\) URL"),
    ("{url: 'http://x', format: xml}", "one of json, slack"),
    ("{url: 'http://x', events: [deployed]}", "unknown events \\['deployed'\\]"),
    ("{url: 'http://x', attempts: 0}", "1–20"),
    ("{url: 'http://x', retries: 3}", "unknown key 'retries'"),
])
def test_bad_notification_targets_are_explained(entry, message):
    with pytest.raises(ConfigError, match=message):
        parse_config(GOOD + f"    notifications: [{entry}]\n")


PROMOTING = GOOD + """\
    promotion:
      approvals: 2
      allow_self_approval: true
      environments: [staging, qa, production]
      tags: ["{version}", "latest", "sha-{short_sha}"]
"""


def test_the_promotion_section_parses():
    _registry, repositories, _limits = parse_config(PROMOTING)
    rules = repositories[0].promotion
    assert (rules.approvals, rules.allow_self_approval) == (2, True)
    assert rules.environments == ("staging", "qa", "production")
    assert rules.moving_tags == ("latest",)


def test_promotion_defaults():
    assert parse_config(GOOD)[1][0].team is None
    assert parse_config(GOOD + "    team: payments\n")[1][0].team == "payments"
    rules = parse_config(GOOD)[1][0].promotion
    assert (rules.approvals, rules.allow_self_approval) == (1, False)
    assert rules.environments == ("staging", "production")


@pytest.mark.parametrize(("change", "message"), [
    ("approvals: 2", "'approvals' in repositories[0].promotion must be at least 1"),
    ("environments: [staging, qa, production]", "must list at least two environments"),
    ('tags: ["{version}", "latest", "sha-{short_sha}"]', "unknown placeholder"),
    ("allow_self_approval: true", "unknown key 'owner'"),
])
def test_promotion_mistakes_are_named(change, message):
    bad = {"approvals: 2": "approvals: 0",
           "environments: [staging, qa, production]": "environments: [qa, production]",
           'tags: ["{version}", "latest", "sha-{short_sha}"]': 'tags: ["{sha}"]',
           "allow_self_approval: true": "owner: me"}[change]
    with pytest.raises(ConfigError, match=re.escape(message)):
        parse_config(PROMOTING.replace(change, bad))


def test_extra_environment_prefixes():
    text = GOOD.replace("  production: production\n",
                        "  production: production\n  environments: {qa: quality}\n")
    registry = parse_config(text)[0]
    assert registry.repository("qa", "acme/web") == "127.0.0.1:5000/quality/acme/web"
    assert registry.repository("production", "acme/web") == "127.0.0.1:5000/production/acme/web"


BUILD_KEYS = GOOD + """\
    target: runtime
    build_args: {VERSION: "{version}", REVISION: "{sha}"}
    network: default
    memory: 512m
    cpus: 1.5
    timeout: 600
    submodules: false
"""


def test_build_keys_parse():
    _registry, (repo,), limits = parse_config(BUILD_KEYS)
    assert (repo.target, repo.network, repo.memory, repo.cpus, repo.timeout, repo.submodules) \
        == ("runtime", "default", 512 * 1024**2, 1.5, 600, False)
    assert repo.build_args == {"VERSION": "{version}", "REVISION": "{sha}"}
    assert limits["gc"].keep_images == 3


def test_build_defaults_are_isolated():
    _registry, (repo,), _limits = parse_config(GOOD)
    assert (repo.network, repo.memory, repo.cpus, repo.timeout, repo.submodules) == (
        "none", None, None, 1800, True)


@pytest.mark.parametrize(("change", "message"), [
    (("network: default", "network: host"), r"line 18: 'network' .* 'host' is not allowed"),
    (("memory: 512m", "memory: lots"), r"'memory' .* not a memory size"),
    (("cpus: 1.5", "cpus: 0"), r"'cpus' .* positive number"),
    (("timeout: 600", "timeout: 0"), r"'timeout' .* at least 1"),
    (("REVISION:", "API_TOKEN:"), r"build arg 'API_TOKEN' looks like a secret.*secrets check"),
    (('"{sha}"', '"{commit}"'), r"uses \{commit\}"),
    (("submodules: false", "submodules: sometimes"), r"'submodules' .* must be a bool"),
    (("    timeout: 600", "    timeot: 600"), r"unknown key 'timeot'"),
])
def test_bad_build_keys_are_refused_at_start_up(change, message):
    with pytest.raises(ConfigError, match=message):
        parse_config(BUILD_KEYS.replace(*change))


def test_the_gc_policy_is_validated():
    _registry, _repos, limits = parse_config("gc: {keep_images: 1, mirror_max_age_days: 2}\n")
    assert (limits["gc"].keep_images, limits["gc"].mirror_max_age_days) == (1, 2)
    with pytest.raises(ConfigError, match="'keep_images' in gc must be 0 or more"):
        parse_config("gc: {keep_images: -1}\n")
    with pytest.raises(ConfigError, match="unknown key 'keep'"):
        parse_config("gc: {keep: 1}\n")


def test_anonymous_api_reads_are_off_unless_switched_on():
    assert parse_config(GOOD)[2]["anonymous_read"] is False
    assert parse_config(GOOD + "api:\n  anonymous_read: true\n")[2]["anonymous_read"] is True
    with pytest.raises(ConfigError, match="'anonymus_read'"):
        parse_config(GOOD + "api:\n  anonymus_read: true\n")
    with pytest.raises(ConfigError, match="anonymous_read"):
        parse_config(GOOD + "api:\n  anonymous_read: sometimes\n")


def test_trusted_proxies_and_the_registry_probe_are_checked():
    _registry, _repos, limits = parse_config(GOOD + "web:\n  trusted_proxies: [10.0.0.0/8]\n")
    assert limits["trusted_proxies"] == ("10.0.0.0/8",)
    with pytest.raises(ConfigError, match=r"'trusted_proxies' in web has 'ten' is not an IP"):
        parse_config(GOOD + "web:\n  trusted_proxies: [ten]\n")
    registry = parse_config("registry: {probe_image: 'production/acme/web:latest', "
                            "probe_seconds: 30}\n")[0]
    assert (registry.probe_image, registry.probe_seconds) == ("production/acme/web:latest", 30)
    assert parse_config(GOOD)[0].probe_seconds == 15
    with pytest.raises(ConfigError, match="'probe_seconds' in registry must be 1–3600 seconds"):
        parse_config("registry: {probe_seconds: 0}\n")


def test_the_retention_policy_has_defaults_and_is_validated():
    _registry, _repos, limits = parse_config("registry: {}\n")
    assert (limits["retention"].deliveries_days, limits["retention"].rejected_days,
            limits["retention"].audit_days) == (30, 7, None)
    _registry, _repos, limits = parse_config("retention: {deliveries_days: 3, audit_days: 400}\n")
    assert (limits["retention"].deliveries_days, limits["retention"].audit_days) == (3, 400)
    with pytest.raises(ConfigError, match="line 3: 'rejected_days' in retention must be"):
        parse_config("registry: {}\nretention:\n  rejected_days: 0\n")
    with pytest.raises(ConfigError, match="line 2: unknown key 'bodies_days' in retention"):
        parse_config("retention:\n  bodies_days: 3\n")


def test_signing_names_the_key_file_and_the_builder_id_or_defaults_them():
    _registry, _repositories, limits = parse_config(GOOD)
    signing = limits["signing"]
    assert signing.builder_id == "https://127.0.0.1:5000/staging/lockmaster-builder"
    assert str(signing.key_path(Path("/data"))) == "/data/signing/image-signing.key"
    given = parse_config(GOOD + "signing:\n  key_file: /etc/lm/key.pem\n"
                                "  builder_id: https://lm.example.com/builder\n")[2]["signing"]
    assert str(given.key_path(Path("/data"))) == "/etc/lm/key.pem"
    assert given.builder_id == "https://lm.example.com/builder"
    with pytest.raises(ConfigError, match="'builder_id' in signing must be a URI"):
        parse_config(GOOD + "signing:\n  builder_id: lockmaster\n")


@pytest.mark.parametrize(("off", "makes"), [
    ((), True), (("sbom",), True), (("vulnerabilities",), True),
    (("sbom", "vulnerabilities"), False)])
def test_the_gates_make_an_sbom_while_the_sbom_or_vulnerabilities_gate_is_on(off, makes):
    checks = "".join(f"      {gate}: {{enabled: false}}\n" for gate in off)
    _registry, repos, _limits = parse_config(
        "repositories:\n  - name: acme/web\n    provider: github\n    secret_env: S\n"
        "    clone_url: https://git.example/acme/web.git\n    image: acme/web\n"
        + ("    checks:\n" + checks if checks else ""))
    assert repos[0].checks.makes_sbom is makes
