"""GET /status: registry up, probe latency, queue depths, workers seen, last integrity alerts."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import Blueprint, render_template
from flask_login import login_required
from redis.exceptions import RedisError
from rq import Worker

from bootstrap import BUILDS_QUEUE, NOTIFICATIONS_QUEUE, PROMOTIONS_QUEUE, Runtime, current_runtime
from registry import integrity
from registry.probe import last_probe

bp = Blueprint("status", __name__, template_folder="templates")


@bp.get("/status")
@login_required
def status_page():
    """What an operator looks at first."""
    return render_template("status.html", **status(current_runtime()))


def status(runtime: Runtime) -> dict:
    """The page's facts; Redis being away is itself a fact shown, not an error page."""
    facts: dict = {"probe": None, "queues": None, "workers": None, "redis_error": None,
                   "probe_seconds": runtime.settings.registry.probe_seconds,
                   "alerts": integrity.recent_alerts(runtime.db, limit=10)}
    try:
        facts["probe"] = last_probe(runtime)
        facts["queues"] = [(name, len(runtime.queue(name)))
                           for name in (BUILDS_QUEUE, PROMOTIONS_QUEUE, NOTIFICATIONS_QUEUE)]
        facts["workers"] = sorted(
            ((w.name, w.get_state(), w.last_heartbeat) for w in
             Worker.all(connection=runtime.redis)), key=lambda w: w[0])
    except RedisError as exc:
        facts["redis_error"] = str(exc)
    if facts["probe"] is not None:
        facts["probed_at"] = datetime.fromtimestamp(facts["probe"].at, UTC)
    return facts
