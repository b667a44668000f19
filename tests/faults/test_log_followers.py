"""Clients following a build log hold their connections for the whole build: they must not
starve the webhook intake of the same web processes."""

from __future__ import annotations

import json
import re
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import requests

from tests.support.buildhelpers import push, start_worker, stop_worker, wait_for
from tests.support.hosts import HOSTS, Commit
from tests.support.stack import repo_entry
from tests.support.webserver import gunicorn

FOLLOWERS, DELIVERIES, SENDERS, TICKS = 20, 200, 10, 20


class Follower(threading.Thread):
    """One client of /api/v1/builds/{id}/log?follow=1, keeping every line it is sent."""

    def __init__(self, url: str, token: str):
        super().__init__(daemon=True)
        self.url, self.token = url, token
        self.status: int | None = None
        self.lines: list[str] = []
        self.ended: dict | None = None

    def run(self) -> None:
        with requests.get(self.url, stream=True, timeout=120,
                          headers={"Authorization": f"Bearer {self.token}"}) as answer:
            self.status = answer.status_code
            event = None
            for line in answer.iter_lines(decode_unicode=True):
                if line.startswith("event: "):
                    event = line.removeprefix("event: ")
                elif line.startswith("data: ") and event == "end":
                    self.ended = json.loads(line.removeprefix("data: "))
                    return
                elif line.startswith("data: "):
                    self.lines.append(line.removeprefix("data: "))


def test_20_log_followers_do_not_starve_a_burst_of_200_deliveries(
        make_app, source_repo, secret, base_image, tmp_path):
    """Injects: 20 clients following a running build's log on the web processes `make run`
    starts, then 200 signed deliveries from 10 senders at once."""
    app = make_app([repo_entry(source_repo, branches=["main", "release/*"])])
    source_repo.commit({"Dockerfile": f"FROM {base_image}\nCOPY app.txt /app.txt\n"
                                      f"RUN echo {uuid.uuid4().hex} && for i in $(seq 1 "
                                      f"{TICKS}); do echo tick-$i; sleep 1; done\n"},
                       "A build that ticks (never from the engine's cache)")
    build_id = push(app.test_client(), source_repo, secret)
    host, token = HOSTS["github"], app.config["TEST_TOKEN"]
    with gunicorn(app.extensions["lockmaster"].settings) as base:
        worker = start_worker(app, tmp_path / "worker.log")
        try:
            followers = [Follower(f"{base}/api/v1/builds/{build_id}/log?follow=1", token)
                         for _ in range(FOLLOWERS)]
            for follower in followers:
                follower.start()
            wait_for(lambda: all(_ticks(f) for f in followers), 60,
                     "every follower to be sent the build's first tick")
            latencies = _burst(base, host, source_repo, secret)
            following = [f.ended is None for f in followers]  # all at once, mid-build
            for follower in followers:
                follower.join(timeout=120)
        finally:
            stop_worker(worker)
    assert following == [True] * FOLLOWERS
    assert sorted(status for status, _seconds in latencies) == [202] * DELIVERIES
    assert max(seconds for _status, seconds in latencies) < 1.0
    for follower in followers:
        assert follower.status == 200
        assert _ticks(follower) == list(range(1, TICKS + 1))
        assert follower.ended == {"status": "staged"}


def _ticks(follower: Follower) -> list[int]:
    """The ticks a follower was sent, in order (BuildKit prefixes each line with its step)."""
    return [int(m) for line in follower.lines for m in re.findall(r"\btick-(\d+)$", line)]


def _burst(base: str, host, source_repo, secret: str) -> list[tuple[int, float]]:
    """Send the deliveries (distinct commits, one branch each); (status, seconds) of each."""
    bodies = [json.dumps(host.push("acme/web", f"refs/heads/release/{n}",
                                   Commit(f"{n + 1:040x}"), str(source_repo.path))).encode()
              for n in range(DELIVERIES)]

    def send(body: bytes) -> tuple[int, float]:
        started = time.perf_counter()
        answer = requests.post(f"{base}/webhooks/github", data=body, timeout=30,
                               headers=host.headers(body, secret, "push", str(uuid.uuid4())))
        return answer.status_code, time.perf_counter() - started

    with ThreadPoolExecutor(max_workers=SENDERS) as pool:
        return list(pool.map(send, bodies))
