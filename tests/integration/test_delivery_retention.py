"""Deliveries cannot fill the database: unsigned ones are counted and kept in detail only
within a daily allowance; `lockmaster gc` drops old bodies but keeps each delivery's tombstone,
so a redelivery long after still builds nothing twice."""

import json
from collections import Counter
from datetime import timedelta

from click.testing import CliRunner
from sqlalchemy import select, update
from sqlalchemy.orm import undefer

from app import cli
from record.models import Build, Delivery, RejectedDeliveries, utcnow
from tests.support.buildhelpers import lockmaster_env
from tests.support.stack import post_github
from webhooks import rejections


def _deliveries(app) -> list[Delivery]:
    with app.extensions["lockmaster"].db.session() as session:
        return list(session.scalars(select(Delivery).options(undefer(Delivery.body))))


def test_a_flood_of_unsigned_deliveries_is_counted_and_kept_in_detail_within_a_limit(
        app, client, source_repo, secret, monkeypatch):
    """Injects: 60 deliveries with a wrong signature (a large body, a long User-Agent, a header
    of the sender's choosing) and 20 naming repositories nobody configured."""
    monkeypatch.setattr(rejections, "DETAIL_PER_DAY", 25)  # the same path as 1,000 a day
    body = json.dumps({**source_repo.payload(), "padding": "x" * 100_000}).encode()
    for _ in range(60):
        answer = post_github(client, None, "wrong", body=body,
                             headers={"User-Agent": "u" * 5000, "X-Evil": "e"})
        assert answer.status_code == 401
    for n in range(20):
        answer = post_github(client, source_repo.payload(full_name=f"nobody/repo-{n}"), "wrong")
        assert answer.status_code == 404
    assert post_github(client, source_repo.payload(), secret).status_code == 202
    runtime = app.extensions["lockmaster"]
    rejections.flush(runtime.redis, runtime.db)  # what the recorder does every 15 s

    kept = [d for d in _deliveries(app) if d.outcome == "rejected"]
    assert len(kept) == 25
    assert all(d.body is None for d in kept)
    assert all(set(map(str.lower, d.headers)) <= set(rejections.DETAIL_HEADERS) for d in kept)
    assert max(len(v) for d in kept for v in d.headers.values()) == rejections.HEADER_CAP
    with app.extensions["lockmaster"].db.session() as session:
        counted = Counter()
        for row in session.scalars(select(RejectedDeliveries)):
            counted[(row.provider, row.reason)] += row.count
    assert counted == {("github", "bad-signature"): 60, ("github", "unknown-repository"): 20}
    assert [d.outcome for d in _deliveries(app) if d.outcome != "rejected"] == ["accepted"]


def test_gc_drops_old_bodies_keeps_tombstones_and_a_late_redelivery_builds_nothing_twice(
        app, client, source_repo, secret):
    """Injects: a delivery redelivered after gc removed its body (and Redis forgot its id)."""
    first = post_github(client, source_repo.payload(), secret, delivery="late-1")
    post_github(client, source_repo.payload(), "wrong", delivery="forged-1")
    runtime = app.extensions["lockmaster"]
    month_ago = utcnow() - timedelta(days=31)
    with runtime.db.session() as session:
        session.execute(update(Delivery).values(received_at=month_ago))
    runtime.redis.flushdb()  # a month on: Redis no longer remembers the delivery id

    shown = CliRunner().invoke(cli, ["gc"], env=lockmaster_env(app))
    assert shown.exit_code == 0, shown.output
    assert "removed 1 delivery bodies and headers" in shown.output
    assert "removed 1 rejected delivery details" in shown.output
    (tombstone,) = _deliveries(app)
    assert (tombstone.provider, tombstone.delivery_id, tombstone.outcome) == (
        "github", "late-1", "accepted")
    assert (tombstone.body, tombstone.headers) == (None, None)
    build_id = first.get_json()["builds"][0]["id"]
    with runtime.db.session() as session:
        assert list(session.scalars(select(Build.id).where(
            Build.delivery_pk == tombstone.id))) == [build_id]
    assert client.get(f"/api/v1/builds/{build_id}").get_json()["refs"] == ["refs/heads/main"]

    post_github(client, source_repo.payload(), secret, delivery="late-1")
    with runtime.db.session() as session:
        assert session.scalar(select(Build.id)) == build_id
        assert len(list(session.scalars(select(Build)))) == 1
    assert len(_deliveries(app)) == 1
