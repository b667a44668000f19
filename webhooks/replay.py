"""Stored deliveries: listing them and running one again (`lockmaster deliveries`)."""

from __future__ import annotations

import json

from sqlalchemy import select
from sqlalchemy.orm import undefer
from werkzeug.datastructures import Headers

from bootstrap import Runtime
from record.models import Delivery
from states import DeliveryOutcome
from webhooks import manual
from webhooks.admit import PROVIDERS, admit
from webhooks.outcomes import Outcome


class CannotReplay(Exception):
    """The delivery does not exist or was not kept whole; the message says which."""


def recent_deliveries(runtime: Runtime, limit: int = 50, outcome: str | None = None) -> list[dict]:
    """The newest deliveries first, as rows for a table."""
    query = select(Delivery).order_by(Delivery.id.desc()).limit(limit)
    if outcome:
        query = query.where(Delivery.outcome == outcome)
    with runtime.db.session() as session:
        return [_row(d) for d in session.scalars(query)]


def stored_delivery(runtime: Runtime, delivery_pk: int) -> dict:
    """One delivery with its stored headers and body (as text), for a person to read."""
    with runtime.db.session() as session:
        delivery = session.get(Delivery, delivery_pk, options=[undefer(Delivery.body)])
        if delivery is None:
            raise CannotReplay(f"no delivery {delivery_pk}: see `lockmaster deliveries list`")
        body = delivery.body.decode(errors="replace") if delivery.body is not None else None
        return {**_row(delivery), "headers": delivery.headers or {}, "body": body}


def replay(runtime: Runtime, delivery_pk: int) -> Outcome:
    """Run a stored authentic delivery through intake again (builds stay deduped by commit)."""
    with runtime.db.session() as session:
        delivery = session.get(Delivery, delivery_pk, options=[undefer(Delivery.body)])
        if delivery is None:
            raise CannotReplay(f"no delivery {delivery_pk}: see `lockmaster deliveries list`")
        if delivery.outcome != DeliveryOutcome.REJECTED and delivery.body is None:
            raise CannotReplay(f"delivery {delivery_pk} is older than the retention of "
                               "deliveries (retention.deliveries_days in lockmaster.yml): only "
                               "its tombstone is kept; ask the Git host to redeliver it")
        if delivery.outcome == DeliveryOutcome.REJECTED:
            raise CannotReplay(f"delivery {delivery_pk} was rejected, so its body was not kept; "
                               "ask the Git host to redeliver it instead")
        provider, headers, body = delivery.provider, delivery.headers or {}, delivery.body
    if provider == manual.PROVIDER:
        return manual.trigger(runtime, json.loads(body), replay_of=delivery_pk)
    return admit(runtime, PROVIDERS[provider], Headers(headers), body, replay_of=delivery_pk)


def _row(delivery: Delivery) -> dict:
    builds = list(dict.fromkeys(t.build_id for t in delivery.triggers))
    return {"id": delivery.id, "received_at": delivery.received_at.isoformat(timespec="seconds"),
            "provider": delivery.provider, "delivery_id": delivery.delivery_id,
            "event": delivery.event, "repository": delivery.repository, "ref": delivery.ref,
            "outcome": delivery.outcome, "status": delivery.status_code,
            "reason": delivery.reason, "builds": builds, "replay_of": delivery.replay_of}
