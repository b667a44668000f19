"""Real gunicorn: oversized bodies (with and without Content-Length) and a burst of deliveries."""

import json
import socket
import threading
from concurrent.futures import ThreadPoolExecutor

import requests
from rq import Queue
from sqlalchemy import func, select

from record.models import Build, Delivery
from tests.support.hosts import HOSTS, Commit
from tests.support.stack import repo_entry
from tests.support.webserver import gunicorn, recorders, wait_recorded

MB = 1024 * 1024


def _count(app, model) -> int:
    with app.extensions["lockmaster"].db.session() as session:
        return session.scalar(select(func.count()).select_from(model))


def test_26_mb_is_413_through_the_test_client(app, client, secret):
    body = b"{" + b" " * (26 * MB) + b"}"
    response = HOSTS["github"].post(client, "push", None, secret, body=body)
    assert response.status_code == 413
    assert "max_body_mb" in response.get_json()["error"]
    assert _count(app, Delivery) == 0 and _count(app, Build) == 0


def _send_chunked(base: str, total: int, chunk: int = 256 * 1024) -> tuple[bytes, int]:
    """POST `total` bytes chunked (no Content-Length); returns the answer and the bytes sent."""
    host, port = base.removeprefix("http://").split(":")
    answers: list[bytes] = []
    sent = 0

    def read_answer():
        try:
            while data := sock.recv(65536):
                answers.append(data)
        except OSError:
            pass

    with socket.create_connection((host, int(port)), timeout=30) as sock:
        sock.sendall(b"POST /webhooks/github HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
                     b"Content-Type: application/json\r\nX-GitHub-Event: push\r\n"
                     b"X-GitHub-Delivery: big\r\nX-Hub-Signature-256: sha256=" + b"0" * 64 +
                     b"\r\n\r\n")
        reader = threading.Thread(target=read_answer)
        reader.start()
        try:
            while sent < total and not answers:
                sock.sendall(f"{chunk:x}\r\n".encode() + b" " * chunk + b"\r\n")
                sent += chunk
            sock.sendall(b"0\r\n\r\n")
        except OSError:
            pass  # the server answered and closed while we were still sending
        reader.join(timeout=30)
    return b"".join(answers), sent


def test_26_mb_is_413_under_gunicorn_with_and_without_content_length(make_app, source_repo,
                                                                     secret):
    app = make_app([repo_entry(source_repo)])
    with gunicorn(app.extensions["lockmaster"].settings) as base:
        sized = requests.post(f"{base}/webhooks/github", data=b" " * (26 * MB),
                              headers={"Content-Type": "application/json"}, timeout=60)
        assert sized.status_code == 413
        answer, sent = _send_chunked(base, 26 * MB)
        assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
        assert b"max_body_mb" in answer
        small = requests.post(f"{base}/webhooks/github", data=iter([b"{}"]), timeout=30)
        assert small.status_code == 401  # a small chunked body is read and judged normally
    assert sent <= 26 * MB
    assert _count(app, Build) == 0


def test_a_burst_of_200_deliveries_for_50_commits_from_4_threads_makes_50_builds(
        make_app, source_repo, secret):
    app = make_app([repo_entry(source_repo, branches=["main", "release/*"])])
    host = HOSTS["github"]
    shas = [f"{n:040x}" for n in range(1, 51)]
    deliveries = []
    # Per commit: a push, the same push under another delivery id, the commit on a second
    # branch, and a redelivery of the first. Each commit has its own branches, so no push
    # supersedes another here (arrival order between commits is up to the threads).
    for n, sha in enumerate(shas):
        for copy, ref in enumerate([f"refs/heads/release/{n}", f"refs/heads/release/{n}",
                                    f"refs/heads/release/{n}-b", f"refs/heads/release/{n}"]):
            payload = host.push("acme/web", ref, Commit(sha), str(source_repo.path))
            delivery = f"d-{n}-{copy % 3}"  # the last copy redelivers the first delivery id
            deliveries.append((json.dumps(payload).encode(), delivery))

    def send(item):
        body, delivery = item
        headers = host.headers(body, secret, "push", delivery)
        return session.post(f"{base}/webhooks/github", data=body, headers=headers,
                            timeout=60).status_code

    session = requests.Session()
    runtime = app.extensions["lockmaster"]
    with recorders(runtime.settings), gunicorn(runtime.settings) as base, \
            ThreadPoolExecutor(max_workers=4) as pool:
        statuses = list(pool.map(send, deliveries))
        wait_recorded(runtime)
    assert statuses == [202] * 200
    assert _count(app, Build) == 50
    assert _count(app, Delivery) == 150  # redeliveries are answered from the first record
    jobs = Queue("builds", connection=runtime.redis).job_ids
    assert len([job for job in jobs if job.startswith("build-")]) == 50
    with runtime.db.session() as session_:
        assert sorted(session_.scalars(select(Build.commit_sha))) == shas
