"""The registry probed as a client would: a /v2/ ping and a manifest HEAD of the probe image
(the configured one, else the newest production image). The result waits in Redis for
/metrics and /status, whichever process serves them."""

from __future__ import annotations

import json
import logging
import time
from dataclasses import asdict, dataclass

import requests
from prometheus_client.core import GaugeMetricFamily
from redis.exceptions import RedisError
from sqlalchemy import select

from bootstrap import Runtime
from distribution.client import RegistryError
from record.promotions import Promotion
from registry.access import registry_client
from states import PromotionStatus

_RESULT = "lockmaster:registry-probe"
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ProbeResult:
    """One probe: whether the registry answered as it should, how long it took, and what."""

    up: bool
    seconds: float
    at: float
    image: str | None
    error: str | None = None


def probe_registry(runtime: Runtime) -> ProbeResult:
    """Probe the registry once and keep the result (it expires after three intervals)."""
    started = time.perf_counter()
    image, error = probe_image(runtime), None
    try:
        _ping(runtime)
        if image is not None:
            name, reference = _split(image)
            client = registry_client(runtime, "promoter", timeout=10, attempts=1)
            if client.manifest_digest(name, reference) is None:
                error = f"the registry does not have {image}"
    except (requests.RequestException, RegistryError) as exc:
        error = str(exc)[:300]
    result = ProbeResult(error is None, time.perf_counter() - started, time.time(), image,
                         error)
    runtime.redis.set(_RESULT, json.dumps(asdict(result)),
                      ex=3 * runtime.settings.registry.probe_seconds)
    if error:
        log.warning("registry probe: %s", error)
    return result


def last_probe(runtime: Runtime) -> ProbeResult | None:
    """The latest probe's result, if one is recent enough to believe."""
    raw = runtime.redis.get(_RESULT)
    return ProbeResult(**json.loads(raw)) if raw else None


def probe_image(runtime: Runtime) -> str | None:
    """`name:tag` or `name@digest` to HEAD: the configured probe image, else the newest
    production image Lockmaster promoted (None before the first promotion)."""
    registry = runtime.settings.registry
    if registry.probe_image:
        return registry.probe_image
    with runtime.db.session() as session:
        newest = session.execute(
            select(Promotion.image, Promotion.digest, Promotion.to_environment)
            .where(Promotion.status == PromotionStatus.PROMOTED,
                   Promotion.to_environment == "production")
            .order_by(Promotion.id.desc()).limit(1)).first()
    return f"{registry.path(newest[2], newest[0])}@{newest[1]}" if newest else None


class ProbeCollector:
    """lockmaster_registry_up and lockmaster_registry_probe_seconds, read at scrape time."""

    def __init__(self, runtime: Runtime):
        self.runtime = runtime

    def collect(self):
        """Yield both gauges when a recent probe result exists (nothing when no worker probes:
        the worker-absent alert covers that)."""
        try:
            result = last_probe(self.runtime)
        except RedisError:
            return
        if result is None:
            return
        yield GaugeMetricFamily("lockmaster_registry_up",
                                "1 when the registry's last probe succeeded", value=result.up)
        yield GaugeMetricFamily("lockmaster_registry_probe_seconds",
                                "How long the registry's last probe took", value=result.seconds)


def _ping(runtime: Runtime) -> None:
    registry = runtime.settings.registry
    answer = requests.get(f"{registry.base_url}/v2/", timeout=5,
                          verify=registry.ca_file or True)
    # 401 is a healthy answer of a registry with token auth: it asks for a token.
    if answer.status_code not in (200, 401):
        raise RegistryError(f"the registry answered {answer.status_code} to GET /v2/")


def _split(image: str) -> tuple[str, str]:
    if "@" in image:
        name, digest = image.split("@", 1)
        return name, digest
    name, _, tag = image.rpartition(":")
    return (name, tag) if name and "/" not in tag else (image, "latest")
