"""/healthz and /readyz against the real services."""

import subprocess
import time

from redis import Redis
from redis.exceptions import ConnectionError as RedisDown

from tests.support.processes import free_port
from tests.support.stack import repo_entry


def test_healthz_and_readyz_when_everything_answers(client):
    assert client.get("/healthz").get_json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200, ready.get_json()


def test_readyz_names_redis_when_it_does_not_answer(make_app, source_repo):
    app = make_app([repo_entry(source_repo)], redis="redis://127.0.0.1:1/0")
    ready = app.test_client().get("/readyz")
    assert ready.status_code == 503
    assert list(ready.get_json()["failing"]) == ["redis"]


def test_readyz_is_503_while_its_redis_is_stopped_and_200_once_it_is_back(make_app, source_repo,
                                                                          tmp_path):
    port = free_port()
    app = make_app([repo_entry(source_repo)], redis=f"redis://127.0.0.1:{port}/0")
    client = app.test_client()
    server = _redis_server(port, tmp_path)
    try:
        assert client.get("/readyz").status_code == 200
    finally:
        server.terminate()
        server.wait(timeout=30)
    stopped = client.get("/readyz")
    assert stopped.status_code == 503 and list(stopped.get_json()["failing"]) == ["redis"]
    server = _redis_server(port, tmp_path)
    try:
        assert client.get("/readyz").status_code == 200
    finally:
        server.terminate()
        server.wait(timeout=30)


def _redis_server(port: int, workdir) -> subprocess.Popen:
    """A Redis of this test's own (the shared one is never stopped), answering on port."""
    server = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1",
                               "--save", "", "--appendonly", "no", "--dir", str(workdir)],
                              stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            if Redis(port=port).ping():
                return server
        except RedisDown:
            time.sleep(0.05)
    raise AssertionError("the test's redis-server did not start")
