"""`GET /api/v1/builds/{id}/log?follow=1`: a bounded number of followers per web process (503
with Retry-After beyond it, the slot back once a follower leaves) and keep-alive comment lines
while the build is quiet."""

import time
import uuid

import pytest

from builder.buildlog import BuildLog
from record.models import Build, utcnow
from tests.support.stack import repo_entry


def _running_build(app) -> str:
    with app.extensions["lockmaster"].db.session() as session:
        build = Build(repository="acme/web", provider="github", ref="refs/heads/main",
                      commit_sha=uuid.uuid4().hex + "0" * 8, clone_url="/nowhere",
                      dockerfile="Dockerfile", context=".", status="building", tags=[],
                      history=[], created_at=utcnow())
        session.add(build)
    return build.id


def _end(app, build_id: str, status: str = "failed") -> None:
    with app.extensions["lockmaster"].db.session() as session:
        session.get(Build, build_id).status = status


@pytest.mark.once  # Redis streams and the web process's own slots
def test_followers_beyond_the_limit_get_503_with_retry_after(make_app, source_repo,
                                                             monkeypatch):
    monkeypatch.setattr("history.api.FOLLOWERS_PER_PROCESS", 2)
    app = make_app([repo_entry(source_repo)])
    client = app.test_client()
    build_id = _running_build(app)
    url = f"/api/v1/builds/{build_id}/log?follow=1"
    held = [client.get(url, buffered=False) for _ in range(2)]
    assert [r.status_code for r in held] == [200, 200]
    refused = client.get(url, buffered=False)
    assert refused.status_code == 503 and refused.headers["Retry-After"] == "5"
    assert "2 clients already follow build logs" in refused.get_json()["detail"]
    assert client.get(f"/api/v1/builds/{build_id}/log").status_code == 200  # no follow: fine
    held[0].close()  # a follower that leaves gives its slot back
    again = client.get(url, buffered=False)
    assert again.status_code == 200
    _end(app, build_id)
    assert again.get_data(as_text=True).endswith('event: end\ndata: {"status": "failed"}\n\n')
    for response in (held[1], again):
        response.close()


@pytest.mark.once  # Redis streams only
def test_a_quiet_build_gets_keep_alive_comments_until_it_ends(make_app, source_repo,
                                                              monkeypatch):
    monkeypatch.setattr("history.api.KEEPALIVE_SECONDS", 1.5)
    app = make_app([repo_entry(source_repo)])
    build_id = _running_build(app)
    log = BuildLog(app.extensions["lockmaster"].redis, build_id)
    log.write("Step 1/2 : FROM base")
    response = app.test_client().get(f"/api/v1/builds/{build_id}/log?follow=1", buffered=False)
    chunks, started = iter(response.response), time.monotonic()
    assert next(chunks) == b": following\n\n"  # at once: the headers go out with it
    first = next(chunks)
    assert first.startswith(b"id: ") and first.endswith(b"data: Step 1/2 : FROM base\n\n")
    assert next(chunks) == b": keep-alive\n\n"
    assert 1.4 < time.monotonic() - started < 5
    assert next(chunks) == b": keep-alive\n\n"
    log.write("Step 2/2 : RUN make")
    assert next(chunks).endswith(b"data: Step 2/2 : RUN make\n\n")
    _end(app, build_id)
    rest = b"".join(chunks)
    assert rest.replace(b": keep-alive\n\n", b"") == b'event: end\ndata: {"status": "failed"}\n\n'
    response.close()
