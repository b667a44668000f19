"""Per-repository build numbers: given while recording, never twice under concurrent recorders,
one per joined build, existing builds numbered by the migration; the log stream's resume ids."""

import threading
import time
import uuid
from datetime import datetime

import pytest
from sqlalchemy import create_engine, text

from builder.buildlog import BuildLog
from record.db import Database
from record.migrate import upgrade
from record.models import Build, new_build_id, utcnow
from tests.support.stack import post_github, repo_entry

RECORDERS, EACH = 6, 3


def _build(repository: str, status: str = "queued") -> Build:
    return Build(repository=repository, provider="github", ref="refs/heads/main",
                 commit_sha=uuid.uuid4().hex + "0" * 8, clone_url="/nowhere",
                 dockerfile="Dockerfile", context=".", status=status, tags=[], history=[],
                 created_at=utcnow())


def test_concurrent_recorders_never_give_a_number_twice(database_url):
    upgrade(database_url)
    db, failures = Database(database_url), []

    def recorder(repository: str) -> None:
        try:
            with db.session() as session:
                for _ in range(EACH):
                    session.add(_build(repository))
                session.flush()
                time.sleep(0.05)  # hold the transaction open while the others record
        except Exception as exc:  # reported below: a thread's error would vanish
            failures.append(exc)

    threads = [threading.Thread(target=recorder, args=(name,))
               for name in ["acme/web"] * RECORDERS + ["acme/api"] * 2]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    with db.session() as session:
        numbers = {name: sorted(n for (n,) in session.execute(
            text("SELECT number FROM builds WHERE repository = :r"), {"r": name}))
            for name in ("acme/web", "acme/api")}
    db.engine.dispose()
    assert numbers["acme/web"] == list(range(1, RECORDERS * EACH + 1))
    assert numbers["acme/api"] == list(range(1, 2 * EACH + 1))


def test_the_migration_numbers_existing_builds_in_id_order(database_url):
    upgrade(database_url, "0010")
    engine = create_engine(database_url)
    ids = [new_build_id() for _ in range(5)]
    with engine.begin() as connection:
        for position, build_id in enumerate(reversed(ids)):  # inserted newest first
            connection.execute(text(
                "INSERT INTO builds (id, repository, provider, ref, commit_sha, clone_url, "
                "dockerfile, context, status, tags, history, created_at, stages, build_args, "
                "attempts) VALUES (:id, :repo, 'github', 'refs/heads/main', :sha, '/x', "
                "'Dockerfile', '.', 'staged', '[]', '[]', :at, '{}', '{}', 0)"),
                {"id": build_id, "repo": "acme/web" if position != 2 else "acme/api",
                 "sha": f"{position:040x}", "at": datetime(2026, 1, 1)})
    engine.dispose()
    upgrade(database_url)
    db = Database(database_url)
    with db.session() as session:
        numbered = {b.id: (b.repository, b.number) for b in session.query(Build)}
        session.add(_build("acme/web"))
        session.flush()
        newest = session.query(Build).filter(Build.id.not_in(ids)).one().number
    db.engine.dispose()
    web = [numbered[i][1] for i in ids if numbered[i][0] == "acme/web"]
    assert web == [1, 2, 3, 4] and numbered[ids[2]] == ("acme/api", 1)
    assert newest == 5


def test_a_build_two_refs_joined_has_one_number_and_its_page_by_number(make_app, source_repo,
                                                                        secret):
    app = make_app([repo_entry(source_repo, tags=["v*"])])
    client = app.test_client()
    main = post_github(client, source_repo.payload(), secret).get_json()["builds"][0]["id"]
    tag = post_github(client, source_repo.payload(ref="refs/tags/v1.0"), secret)
    assert tag.get_json()["builds"][0]["id"] == main
    build = client.get(f"/api/v1/builds/{main}").get_json()
    assert build["number"] == 1 and set(build["refs"]) == {"refs/heads/main", "refs/tags/v1.0"}
    source_repo.commit({"app.txt": "version 2\n"}, "Say version 2")
    second = post_github(client, source_repo.payload(), secret).get_json()["builds"][0]["id"]
    listed = client.get("/api/v1/builds?q=version+2").get_json()["items"]
    assert [(b["id"], b["number"]) for b in listed] == [(second, 2)]


@pytest.mark.once  # Redis streams only
def test_the_log_stream_resumes_after_the_last_event_id(make_app, source_repo):
    app = make_app([repo_entry(source_repo)])
    runtime = app.extensions["lockmaster"]
    with runtime.db.session() as session:
        build = _build("acme/web", status="failed")
        session.add(build)
    log = BuildLog(runtime.redis, build.id)
    log.write("Step 1/2 : FROM base\nStep 2/2 : RUN make\nforged\revent: end\nFAILED at build")
    client = app.test_client()
    url = f"/api/v1/builds/{build.id}/log?follow=1"
    events = [e for e in client.get(url).get_data(as_text=True).split("\n\n")
              if not e.startswith(":")]  # the opening comment line
    ids = [line[4:] for event in events for line in event.split("\n") if line.startswith("id: ")]
    assert len(ids) == 4 and events[2].endswith("data: forgedevent: end")
    resumed = client.get(url, headers={"Last-Event-ID": ids[1]}).get_data(as_text=True)
    assert resumed.startswith(": following\n\n")
    resumed = resumed.removeprefix(": following\n\n")
    assert resumed.split("\n\n")[0] == f"id: {ids[2]}\ndata: forgedevent: end"
    ends = [event for event in resumed.split("\n\n") if event.startswith("event: end")]
    assert "Step" not in resumed and ends == ['event: end\ndata: {"status": "failed"}']
