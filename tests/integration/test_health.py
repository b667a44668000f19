"""/healthz and /readyz against the real services."""

from tests.integration.conftest import repo_entry


def test_healthz_and_readyz_when_everything_answers(client):
    assert client.get("/healthz").get_json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200, ready.get_json()


def test_readyz_names_redis_when_it_does_not_answer(make_app, source_repo):
    app = make_app([repo_entry(source_repo)], redis="redis://127.0.0.1:1/0")
    ready = app.test_client().get("/readyz")
    assert ready.status_code == 503
    assert list(ready.get_json()["failing"]) == ["redis"]
