"""Prometheus metrics, safe under gunicorn's and RQ's many processes (multiprocess mode)."""

from __future__ import annotations

import os
from collections.abc import Callable

from flask import Blueprint, Flask, Response, current_app
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily
from redis.exceptions import RedisError
from rq import Worker

from bootstrap import (
    BUILDS_QUEUE,
    NOTIFICATIONS_QUEUE,
    PROMOTIONS_QUEUE,
    Runtime,
    current_runtime,
    pool_queues,
)
from ops.multiproc import MULTIPROC_ENV

# app.extensions key of the collectors features add with collect_at_scrape.
SCRAPE_COLLECTORS = "lockmaster.scrape_collectors"
STAGE_BUCKETS = (0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800)

deliveries = Counter("lockmaster_webhook_deliveries_total",
                     "Webhook deliveries by provider and outcome", ["provider", "outcome"])
builds_finished = Counter("lockmaster_builds_finished_total",
                          "Builds that reached a final status", ["status"])
stage_seconds = Histogram("lockmaster_stage_duration_seconds",
                          "Time spent in each stage (clone, build, gates, push, promotion)",
                          ["stage"], buckets=STAGE_BUCKETS)
gate_failures = Counter("lockmaster_gate_failures_total", "Gates that failed or broke", ["gate"])
registry_errors = Counter("lockmaster_registry_errors_total", "Registry errors by kind",
                          ["kind"])
promotions = Counter("lockmaster_promotions_total", "Promotions by environment and outcome",
                     ["environment", "outcome"])
registry_tokens = Counter("lockmaster_registry_tokens_total",
                          "Registry token requests by outcome (ok, partial, refused, denied)",
                          ["outcome"])
registry_token_seconds = Histogram("lockmaster_registry_token_seconds",
                                   "Time the token service took to answer a token request",
                                   buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1,
                                            2.5))
password_hashes = Counter("lockmaster_registry_password_hashes_total",
                          "Password hashes computed by the token service (cache misses)")
integrity_alerts = Counter("lockmaster_integrity_alerts_total",
                           "Registry changes in production that no promotion made", ["action"])

bp = Blueprint("metrics", __name__)


class QueueDepthCollector:
    """Queue depth per RQ queue (each worker pool's too), read from Redis at scrape time."""

    def __init__(self, runtime):
        self.runtime = runtime

    def collect(self):
        """Yield one gauge with a sample per queue."""
        gauge = GaugeMetricFamily("lockmaster_queue_depth", "Jobs waiting per queue",
                                  labels=["queue"])
        workers = GaugeMetricFamily("lockmaster_workers", "Workers registered in Redis now")
        try:
            for name in (BUILDS_QUEUE, *pool_queues(self.runtime.settings), PROMOTIONS_QUEUE,
                         NOTIFICATIONS_QUEUE):
                gauge.add_metric([name], len(self.runtime.queue(name)))
            workers.add_metric([], Worker.count(connection=self.runtime.redis))
        except RedisError:
            return  # /readyz names Redis; the other metrics stay scrapeable
        yield gauge
        yield workers


@bp.get("/metrics")
def metrics():
    """All metrics in the Prometheus text format."""
    registry = REGISTRY
    if os.environ.get(MULTIPROC_ENV):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    text = generate_latest(registry)
    queues = CollectorRegistry()
    queues.register(QueueDepthCollector(current_runtime()))
    for collector in current_app.extensions.get(SCRAPE_COLLECTORS, ()):
        queues.register(collector(current_runtime()))
    return Response(text + generate_latest(queues), mimetype=CONTENT_TYPE_LATEST)


def collect_at_scrape(app: Flask, collector: Callable[[Runtime], object]) -> None:
    """Have /metrics read `collector(runtime)` at every scrape: features add theirs, so this
    module imports none of them."""
    app.extensions.setdefault(SCRAPE_COLLECTORS, []).append(collector)
