"""Lockmaster settings: process settings from the environment, policy from lockmaster.yml."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from config.bksettings import (
    BUILDKIT_KEYS,
    BuildSecret,
    parse_engine_keys,
    parse_frontend_image,
)
from config.clientaddress import networks
from config.gates import ChecksPolicy, parse_checks, resolve
from config.isolation import (
    DEFAULT_PIDS_LIMIT,
    DEFAULT_TIMEOUT_SECONDS,
    IsolationError,
    check_build_args,
    check_network,
    parse_cpus,
    parse_memory,
    parse_pids,
)
from config.promotion import PROMOTION_KEYS, PromotionRules, parse_promotion

PROVIDERS = ("github", "gitlab", "gitea", "bitbucket")
# What a notification target may ask for, and the bodies notify.messages can make.
INTEGRITY_ALERT = "integrity.alert"
NOTIFICATION_EVENTS = ("staged", "rejected", "failed", "approved", "promoted", INTEGRITY_ALERT)
NOTIFICATION_FORMATS = ("json", "slack")
# Every environment variable Lockmaster reads (the compose test keeps docker-compose.yml honest).
ENVIRONMENT_VARIABLES = {
    "LOCKMASTER_CONFIG": "path of lockmaster.yml",
    "LOCKMASTER_DATABASE_URL": "SQLAlchemy URL of the lineage database",
    "LOCKMASTER_REDIS_URL": "Redis URL (queues, locks, live logs)",
    "LOCKMASTER_DATA_DIR": "local state: workspaces, metrics, caches",
    "LOCKMASTER_LOG_LEVEL": "log level (INFO by default)",
    "LOCKMASTER_SECRET_KEY": "signs web sessions; one value for all web processes",
    "LOCKMASTER_URL": "the server `lockmaster approve` talks to",
    "LOCKMASTER_TOKEN": "the API token `lockmaster approve` uses",
}


class ConfigError(Exception):
    """lockmaster.yml or a setting is wrong; the message says where and how to fix it."""


@dataclass(frozen=True)
class RegistrySettings:
    """Where images go: the registry and its staging/production repository prefixes."""

    url: str = "127.0.0.1:5000"
    insecure: bool = True
    staging: str = "staging"
    production: str = "production"
    environments: dict[str, str] = field(default_factory=dict)
    auth: str = "none"
    token_seconds: int = 300
    service: str = "lockmaster-registry"
    anonymous_pull: tuple[str, ...] = ()
    events_secret_env: str | None = None
    ca_file: str | None = None
    # The registry probe: the image whose manifest it asks for (newest production image when
    # None) and how often a worker probes.
    probe_image: str | None = None
    probe_seconds: int = 15

    def repository(self, environment: str, image: str) -> str:
        """Full repository name, e.g. 127.0.0.1:5000/staging/acme/web."""
        return f"{self.url}/{self.path(environment, image)}"

    def path(self, environment: str, image: str) -> str:
        """Repository name inside the registry, e.g. staging/acme/web."""
        prefixes = {**self.environments, "staging": self.staging, "production": self.production}
        return f"{prefixes.get(environment, environment)}/{image}"

    @property
    def base_url(self) -> str:
        """HTTP base URL of the registry API."""
        scheme = "http" if self.insecure else "https"
        return f"{scheme}://{self.url}"


@dataclass(frozen=True)
class NotificationTarget:
    """Where to tell people that a build or promotion moved, and how."""

    url: str
    format: str = "json"
    secret_env: str | None = None
    events: tuple[str, ...] = NOTIFICATION_EVENTS
    attempts: int = 5
    backoff_seconds: int = 2


@dataclass(frozen=True)
class RepositoryConfig:
    """One source repository that Lockmaster builds."""

    name: str
    provider: str
    secret_env: str
    image: str
    clone_url: str | None = None
    branches: tuple[str, ...] = ("main",)
    tags: tuple[str, ...] = ()
    dockerfile: str = "Dockerfile"
    context: str = "."
    target: str | None = None
    build_args: dict[str, str] = field(default_factory=dict)
    notifications: tuple[NotificationTarget, ...] = ()
    checks: ChecksPolicy = field(default_factory=ChecksPolicy)
    promotion: PromotionRules = field(default_factory=PromotionRules)
    team: str | None = None
    network: str = "none"
    memory: int | None = None
    cpus: float | None = None
    pids: int = DEFAULT_PIDS_LIMIT
    timeout: int = DEFAULT_TIMEOUT_SECONDS
    submodules: bool = True
    supersede_running: bool = False
    builder: str = "buildkit"
    secrets: tuple[BuildSecret, ...] = ()
    pool: str | None = None

    @property
    def secret(self) -> str | None:
        """The webhook secret, read from the named environment variable."""
        return os.environ.get(self.secret_env) or None


@dataclass(frozen=True)
class GcPolicy:
    """What `lockmaster gc` keeps: local images per repository and recently used mirrors."""

    keep_images: int = 3
    mirror_max_age_days: int = 14
    # Per-layer gate results (a layer holds a few kinds): the least recently used go first.
    layer_cache_entries: int = 20000
    # The engine's whole build cache is pruned down to this size (0: never).
    build_cache_max_gb: int = 0


@dataclass(frozen=True)
class RetentionPolicy:
    """What `lockmaster gc` keeps of the record: accepted deliveries' bodies and headers (a
    tombstone of each stays, for dedupe and lineage), rejected deliveries' details, and the
    audit trail (None: kept for ever)."""

    deliveries_days: int = 30
    rejected_days: int = 7
    audit_days: int | None = None


@dataclass(frozen=True)
class SigningSettings:
    """Image signing: where the worker's private key lives and who Lockmaster says it is."""

    key_file: Path | None = None
    builder_id: str = ""

    def key_path(self, data_dir: Path) -> Path:
        """The private key file (PKCS#8 PEM): `signing.key_file`, else under the data dir."""
        return self.key_file or data_dir / "signing" / "image-signing.key"


@dataclass(frozen=True)
class Settings:
    """Everything a Lockmaster process needs to know, validated once at start."""

    data_dir: Path
    database_url: str
    redis_url: str
    config_path: Path
    registry: RegistrySettings
    repositories: tuple[RepositoryConfig, ...]
    max_webhook_bytes: int = 25 * 1024 * 1024
    clone_hosts: tuple[str, ...] = ()
    gc: GcPolicy = field(default_factory=GcPolicy)
    retention: RetentionPolicy = field(default_factory=RetentionPolicy)
    # api.anonymous_read: /api/v1 reads without a token (writes always need one).
    anonymous_read: bool = False
    # buildkit.frontend_image: a mirrored docker/dockerfile image for `# syntax=` lines.
    frontend_image: str | None = None
    # web.trusted_proxies: peers whose X-Forwarded-For names the client (addresses, networks).
    trusted_proxies: tuple[str, ...] = ()
    signing: SigningSettings = field(default_factory=SigningSettings)

    def repository(self, provider: str, name: str) -> RepositoryConfig | None:
        """The configured repository with this provider and full name, if any."""
        for repo in self.repositories:
            if repo.provider == provider and repo.name.lower() == name.lower():
                return repo
        return None

    def repository_named(self, name: str) -> RepositoryConfig | None:
        """The configured repository with this full name, whatever its provider."""
        return next((r for r in self.repositories if r.name.lower() == name.lower()), None)

    @property
    def workspace_dir(self) -> Path:
        """Where per-build checkouts live (always removed after the build)."""
        return self.data_dir / "workspaces"

    @property
    def mirror_dir(self) -> Path:
        """Where the per-repository Git mirror caches live."""
        return self.data_dir / "mirrors"


def load_settings(environ: dict[str, str] | None = None) -> Settings:
    """Read LOCKMASTER_* variables and the lockmaster.yml they point at."""
    env = os.environ if environ is None else environ
    data_dir = Path(env.get("LOCKMASTER_DATA_DIR", "var")).resolve()
    config_path = Path(env.get("LOCKMASTER_CONFIG", "lockmaster.yml")).resolve()
    database_url = env.get("LOCKMASTER_DATABASE_URL") or f"sqlite:///{data_dir / 'lockmaster.db'}"
    redis_url = env.get("LOCKMASTER_REDIS_URL", "redis://127.0.0.1:6379/0")
    if not config_path.exists():
        raise ConfigError(
            f"{config_path} does not exist: create it (see docs/configuration.md) "
            "or point LOCKMASTER_CONFIG at your lockmaster.yml"
        )
    registry, repositories, limits = parse_config(config_path.read_text(), str(config_path))
    return Settings(
        data_dir=data_dir,
        database_url=database_url,
        redis_url=redis_url,
        config_path=config_path,
        registry=registry,
        repositories=repositories,
        **limits,
    )


def missing_web_secrets(settings: Settings, environ: dict[str, str]) -> list[str]:
    """The web's secret variables that are not set, each with what it is for. Only the web
    checks them: workers are not given the web's secrets (docs/security.md)."""
    missing = [f"{r.secret_env} (secret_env of {r.name}: its webhooks will be refused)"
               for r in settings.repositories if not environ.get(r.secret_env)]
    events = settings.registry.events_secret_env
    if events and not environ.get(events):
        missing.append(f"{events} (registry.events_secret_env: registry events are refused)")
    return missing


class LineLoader(yaml.SafeLoader):
    """A YAML loader that remembers the line of every mapping key, for error messages."""


def _construct_mapping(loader: LineLoader, node: yaml.MappingNode) -> dict:
    mapping = _Mapping(loader.construct_mapping(node, deep=True))
    mapping.lines = {k.value: k.start_mark.line + 1 for k, _ in node.value}
    mapping.line = node.start_mark.line + 1
    return mapping


class _Mapping(dict):
    lines: dict[str, int]
    line: int


LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)

_TOP_KEYS = {"registry", "repositories", "webhooks", "checks", "gc", "api", "buildkit", "web",
             "retention", "signing"}
_WEB_KEYS = {"trusted_proxies"}
_RETENTION_KEYS = {"deliveries_days", "rejected_days", "audit_days"}
_SIGNING_KEYS = {"key_file", "builder_id"}
_API_KEYS = {"anonymous_read"}
_GC_KEYS = {"keep_images", "mirror_max_age_days", "layer_cache_entries",
            "build_cache_max_gb"}
_REGISTRY_KEYS = {"url", "insecure", "staging", "production", "environments", "auth",
                  "token_seconds", "service", "anonymous_pull", "events_secret_env", "ca_file",
                  "probe_image", "probe_seconds"}
_WEBHOOK_KEYS = {"max_body_mb", "clone_hosts"}
_REPO_KEYS = {
    "name", "provider", "secret_env", "clone_url", "image", "branches", "tags",
    "dockerfile", "context", "target", "build_args", "notifications", "checks", "promotion",
    "team", "network", "memory", "cpus", "timeout", "submodules", "supersede_running",
    "pids", "builder", "secrets", "pool",
}
_NOTIFY_KEYS = {"url", "format", "secret_env", "events", "attempts", "backoff_seconds"}
_REPO_REQUIRED = ("name", "provider", "secret_env")


class MappingReader:
    """Validates one mapping of lockmaster.yml, naming the file, line and key in every error."""

    def __init__(self, source: str, mapping: object, where: str, allowed: set[str]):
        self.source, self.where = source, where
        if not isinstance(mapping, dict):
            raise ConfigError(f"{source}: {where} must be a mapping of keys to values")
        self.mapping = mapping
        unknown = sorted(set(mapping) - allowed)
        if unknown:
            key = unknown[0]
            raise ConfigError(
                f"{self._at(key)}: unknown key '{key}' in {where} "
                f"(allowed: {', '.join(sorted(allowed))})"
            )

    def _at(self, key: str) -> str:
        line = getattr(self.mapping, "lines", {}).get(key) or getattr(self.mapping, "line", None)
        return f"{self.source}, line {line}" if line else self.source

    def get(self, key: str, kind: type, default: object = None, required: bool = False):
        """The value of key, checked to be of kind."""
        if key not in self.mapping or self.mapping[key] is None:
            if required:
                raise ConfigError(f"{self._at(key)}: {self.where} needs '{key}'")
            return default
        value = self.mapping[key]
        if kind is str and isinstance(value, (int, float)) and not isinstance(value, bool):
            value = str(value)
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise ConfigError(
                f"{self._at(key)}: '{key}' in {self.where} must be a {kind.__name__}, "
                f"got {value!r}"
            )
        return value

    def strings(self, key: str, default: tuple[str, ...]) -> tuple[str, ...]:
        """A list of strings (a single string is accepted as a list of one)."""
        value = self.mapping.get(key, list(default))
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ConfigError(f"{self._at(key)}: '{key}' in {self.where} must be a list of strings")
        return tuple(value)

    def fail(self, key: str, message: str) -> None:
        """Raise a ConfigError about key."""
        raise ConfigError(f"{self._at(key)}: '{key}' in {self.where} {message}")


def parse_config(text: str, source: str = "lockmaster.yml"):
    """Parse and validate lockmaster.yml; returns (registry, repositories, limits)."""
    try:
        document = yaml.load(text, Loader=LineLoader) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"{source} is not valid YAML: {exc}") from exc
    top = MappingReader(source, document, "the top level", _TOP_KEYS)
    registry = _parse_registry(MappingReader(source, top.get("registry", dict, {}), "registry",
                                       _REGISTRY_KEYS))
    hooks = MappingReader(source, top.get("webhooks", dict, {}), "webhooks", _WEBHOOK_KEYS)
    max_mb = hooks.get("max_body_mb", int, 25)
    if max_mb < 1:
        hooks.fail("max_body_mb", "must be at least 1")
    checks = parse_checks(MappingReader, source, top.get("checks", dict, {}), "checks")
    repositories = []
    for index, item in enumerate(top.get("repositories", list, [])):
        repositories.append(_parse_repository(source, item, index, checks))
    names = [(r.provider, r.name.lower()) for r in repositories]
    duplicate = next((n for n in names if names.count(n) > 1), None)
    if duplicate:
        raise ConfigError(f"{source}: repository '{duplicate[1]}' is configured twice")
    clone_hosts = tuple(host.lower() for host in hooks.strings("clone_hosts", ()))
    gc = _parse_gc(MappingReader(source, top.get("gc", dict, {}), "gc", _GC_KEYS))
    api = MappingReader(source, top.get("api", dict, {}), "api", _API_KEYS)
    buildkit = MappingReader(source, top.get("buildkit", dict, {}), "buildkit", BUILDKIT_KEYS)
    retention = _parse_retention(MappingReader(source, top.get("retention", dict, {}), "retention",
                                         _RETENTION_KEYS))
    signing = _parse_signing(MappingReader(source, top.get("signing", dict, {}), "signing",
                                     _SIGNING_KEYS), registry)
    return registry, tuple(repositories), {"max_webhook_bytes": max_mb * 1024 * 1024,
                                           "clone_hosts": clone_hosts, "gc": gc,
                                           "retention": retention, "signing": signing,
                                           "frontend_image": parse_frontend_image(buildkit),
                                           "anonymous_read": api.get("anonymous_read", bool,
                                                                     False),
                                           "trusted_proxies": _trusted_proxies(
                                               MappingReader(source, top.get("web", dict, {}),
                                                       "web", _WEB_KEYS))}


def _trusted_proxies(reader: MappingReader) -> tuple[str, ...]:
    proxies = reader.strings("trusted_proxies", ())
    try:
        networks(proxies)
    except ValueError as exc:
        reader.fail("trusted_proxies", f"has {exc}")
    return proxies


def _parse_signing(reader: MappingReader, registry: RegistrySettings) -> SigningSettings:
    key_file = reader.get("key_file", str, None)
    builder_id = reader.get("builder_id", str, None) or \
        f"https://{registry.url}/{registry.staging}/lockmaster-builder"
    if ":" not in builder_id:
        reader.fail("builder_id", "must be a URI, e.g. https://lockmaster.example.com/builder")
    return SigningSettings(key_file=Path(key_file).expanduser() if key_file else None,
                           builder_id=builder_id)


def _parse_gc(reader: MappingReader) -> GcPolicy:
    defaults = GcPolicy()
    policy = GcPolicy(keep_images=reader.get("keep_images", int, defaults.keep_images),
                      mirror_max_age_days=reader.get("mirror_max_age_days", int,
                                                     defaults.mirror_max_age_days),
                      layer_cache_entries=reader.get("layer_cache_entries", int,
                                                     defaults.layer_cache_entries),
                      build_cache_max_gb=reader.get("build_cache_max_gb", int,
                                                    defaults.build_cache_max_gb))
    for key in sorted(_GC_KEYS):
        if getattr(policy, key) < 0:
            reader.fail(key, "must be 0 or more")
    return policy


def _parse_retention(reader: MappingReader) -> RetentionPolicy:
    defaults = RetentionPolicy()
    policy = RetentionPolicy(
        deliveries_days=reader.get("deliveries_days", int, defaults.deliveries_days),
        rejected_days=reader.get("rejected_days", int, defaults.rejected_days),
        audit_days=reader.get("audit_days", int, defaults.audit_days))
    for key in sorted(_RETENTION_KEYS):
        if getattr(policy, key) is not None and getattr(policy, key) < 1:
            reader.fail(key, "must be a number of days, at least 1 (leave audit_days out "
                             "to keep the audit trail for ever)")
    return policy


def _parse_registry(reader: MappingReader) -> RegistrySettings:
    defaults = RegistrySettings()
    url = reader.get("url", str, defaults.url)
    if "://" in url or url.endswith("/"):
        reader.fail("url", "must be host[:port] without a scheme, e.g. 127.0.0.1:5000")
    return RegistrySettings(
        url=url,
        insecure=reader.get("insecure", bool, defaults.insecure),
        staging=reader.get("staging", str, defaults.staging).strip("/"),
        production=reader.get("production", str, defaults.production).strip("/"),
        environments=_environment_prefixes(reader),
        **_registry_access(reader),
    )


def _registry_access(reader: MappingReader) -> dict:
    """The token-auth keys of the registry section (see registry/policy.py)."""
    auth = reader.get("auth", str, "none")
    if auth not in ("none", "token"):
        reader.fail("auth", "must be 'none' or 'token'")
    seconds = reader.get("token_seconds", int, 300)
    if not 30 <= seconds <= 86400:
        reader.fail("token_seconds", "must be 30–86400 seconds")
    probe_seconds = reader.get("probe_seconds", int, 15)
    if not 1 <= probe_seconds <= 3600:
        reader.fail("probe_seconds", "must be 1–3600 seconds")
    return {"auth": auth, "token_seconds": seconds, "probe_seconds": probe_seconds,
            "probe_image": reader.get("probe_image", str),
            "service": reader.get("service", str, "lockmaster-registry"),
            "anonymous_pull": reader.strings("anonymous_pull", ()),
            "events_secret_env": reader.get("events_secret_env", str),
            "ca_file": reader.get("ca_file", str)}


def _environment_prefixes(reader: MappingReader) -> dict[str, str]:
    prefixes = reader.get("environments", dict, {})
    if not all(isinstance(k, str) and isinstance(v, str) for k, v in prefixes.items()):
        reader.fail("environments", "must map environment names to repository prefixes")
    return {name: prefix.strip("/") for name, prefix in prefixes.items()}


def _parse_repository(source: str, item: object, index: int, checks: dict) -> RepositoryConfig:
    reader = MappingReader(source, item, f"repositories[{index}]", _REPO_KEYS)
    values = {key: reader.get(key, str, required=True) for key in _REPO_REQUIRED}
    if values["provider"] not in PROVIDERS:
        reader.fail("provider", f"must be one of {', '.join(PROVIDERS)}")
    if "/" not in values["name"]:
        reader.fail("name", "must be the Git host's full name, e.g. acme/web")
    image = reader.get("image", str, values["name"]).strip("/").lower()
    build_args = reader.get("build_args", dict, {})
    if not all(isinstance(k, str) and isinstance(v, (str, int)) for k, v in build_args.items()):
        reader.fail("build_args", "must map names to string values")
    return RepositoryConfig(
        **values,
        image=image,
        clone_url=reader.get("clone_url", str),
        branches=reader.strings("branches", ("main",)),
        tags=reader.strings("tags", ()),
        dockerfile=reader.get("dockerfile", str, "Dockerfile"),
        context=reader.get("context", str, "."),
        target=reader.get("target", str),
        build_args={k: str(v) for k, v in build_args.items()},
        notifications=tuple(
            _parse_notification(source, item, f"repositories[{index}].notifications[{n}]")
            for n, item in enumerate(reader.get("notifications", list, []))
        ),
        checks=resolve(checks, parse_checks(MappingReader, source, reader.get("checks", dict, {}),
                                            f"repositories[{index}].checks")),
        team=reader.get("team", str),
        promotion=parse_promotion(MappingReader(source, reader.get("promotion", dict, {}),
                                          f"repositories[{index}].promotion", PROMOTION_KEYS)),
        supersede_running=reader.get("supersede_running", bool, False),
        **_isolation(reader),
        **parse_engine_keys(reader),
    )


def _parse_notification(source: str, item: object, where: str) -> NotificationTarget:
    reader = MappingReader(source, item, where, _NOTIFY_KEYS)
    url = reader.get("url", str, required=True)
    if not url.startswith(("http://", "https://")):
        reader.fail("url", "must be an http(s) URL")
    kind = reader.get("format", str, "json")
    if kind not in NOTIFICATION_FORMATS:
        reader.fail("format", f"must be one of {', '.join(NOTIFICATION_FORMATS)}")
    events = reader.strings("events", NOTIFICATION_EVENTS)
    unknown = sorted(set(events) - set(NOTIFICATION_EVENTS))
    if unknown:
        reader.fail("events", f"has unknown events {unknown}; use {', '.join(NOTIFICATION_EVENTS)}")
    attempts = reader.get("attempts", int, 5)
    backoff = reader.get("backoff_seconds", int, 2)
    if not 1 <= attempts <= 20 or not 0 <= backoff <= 3600:
        reader.fail("attempts", "must be 1–20 (and backoff_seconds 0–3600)")
    return NotificationTarget(url=url, format=kind, secret_env=reader.get("secret_env", str),
                              events=events, attempts=attempts, backoff_seconds=backoff)


def _isolation(reader: MappingReader) -> dict:
    """The build's isolation keys of one repository, each checked."""
    values: dict = {"submodules": reader.get("submodules", bool, True)}
    checks = {"build_args": lambda v: check_build_args({k: str(a) for k, a in v.items()}),
              "network": check_network, "memory": parse_memory, "cpus": parse_cpus,
              "pids": parse_pids}
    for key, check in checks.items():
        if reader.mapping.get(key) is not None:
            try:
                result = check(reader.mapping[key])
            except IsolationError as exc:
                reader.fail(key, f"is refused: {exc}")
            if key != "build_args":
                values[key] = result
    timeout = reader.get("timeout", int, DEFAULT_TIMEOUT_SECONDS)
    if timeout < 1:
        reader.fail("timeout", "must be a number of seconds, at least 1")
    values["timeout"] = timeout
    return values
