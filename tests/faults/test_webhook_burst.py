"""A burst of webhook deliveries against two web processes (two gunicorn servers)."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack

import requests
from rq import Queue
from sqlalchemy import func, select

from record.models import Build, Delivery
from tests.support.hosts import HOSTS, Commit
from tests.support.stack import repo_entry
from tests.support.webserver import gunicorn, recorders, wait_recorded

COMMITS, COPIES, SENDERS = 200, 5, 8


def _count(app, model) -> int:
    with app.extensions["lockmaster"].db.session() as session:
        return session.scalar(select(func.count()).select_from(model))


def test_1000_deliveries_from_8_senders_to_two_web_processes_make_exactly_200_builds(
        make_app, source_repo, secret, postgres_url):
    """Injects: 1,000 deliveries for 200 commits (per commit: a push, two redeliveries of it,
    the same push under a second delivery id, the commit on a second branch), sent by 8
    concurrent senders alternating between two web processes, recorded by two recorders one
    of which is killed (SIGKILL) halfway."""
    app = make_app([repo_entry(source_repo, branches=["release/*"])], database=postgres_url)
    host = HOSTS["github"]
    deliveries = []
    for n in range(COMMITS):
        sha = f"{n + 1:040x}"
        for copy, (ref, delivery) in enumerate([
                (f"refs/heads/release/{n}", f"d-{n}-0"), (f"refs/heads/release/{n}", f"d-{n}-0"),
                (f"refs/heads/release/{n}", f"d-{n}-1"), (f"refs/heads/release/{n}-b",
                                                          f"d-{n}-2"),
                (f"refs/heads/release/{n}", f"d-{n}-0")]):
            payload = host.push("acme/web", ref, Commit(sha), str(source_repo.path))
            deliveries.append((copy, json.dumps(payload).encode(), delivery))
    assert len(deliveries) == COMMITS * COPIES == 1000
    runtime = app.extensions["lockmaster"]
    settings = runtime.settings
    with ExitStack() as stack:
        bases = [stack.enter_context(gunicorn(settings, workers=2)) for _ in range(2)]
        doomed, survivor = stack.enter_context(recorders(settings, count=2))
        session = requests.Session()
        session.mount("http://", requests.adapters.HTTPAdapter(pool_maxsize=SENDERS))

        def send(item):
            index, (_copy, body, delivery) = item
            headers = host.headers(body, secret, "push", delivery)
            return session.post(f"{bases[index % 2]}/webhooks/github", data=body,
                                headers=headers, timeout=60).status_code

        half = len(deliveries) // 2
        with ThreadPoolExecutor(max_workers=SENDERS) as pool:
            statuses = list(pool.map(send, enumerate(deliveries[:half])))
            doomed.kill()  # a recorder (its worker) dies mid-burst: the other takes over
            statuses += list(pool.map(send, enumerate(deliveries[half:], start=half)))
        wait_recorded(runtime, timeout=120)
        assert survivor.poll() is None
    assert sorted(set(statuses)) == [202], {s: statuses.count(s) for s in set(statuses)}
    assert _count(app, Build) == COMMITS
    assert _count(app, Delivery) == COMMITS * 3  # redeliveries answered from the first record
    jobs = Queue("builds", connection=runtime.redis).job_ids
    assert len([job for job in jobs if job.startswith("build-")]) == COMMITS
