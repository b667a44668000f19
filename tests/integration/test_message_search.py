"""`q` (a piece of the commit message) answered through an index — pg_trgm on PostgreSQL, FTS5
trigram on SQLite — with the same builds, in the same order, as without one."""

import uuid

import pytest
from sqlalchemy import create_engine, text

from devstack.postgres import admin_url, postgres_service
from devstack.services import ServiceSet
from history import message_search
from history.filters import BuildFilter
from history.queries import list_builds
from record.db import Database
from record.migrate import upgrade
from record.models import Build, utcnow
from tests.support.stack import REDIS_DB, ROOT

MESSAGES = ["Fix the login page", "LOGIN: 100% faster_", "Tidy the Login form", "Ünïcode Çafé",
            "ünïcode çafé", 'Say "hello" to the ops team', "a\\b path", "x", "", None,
            "Release 1.2.3 (final)", "Straße und STRASSE", "tab\tand\nnew line", "ab"]
QUERIES = ["login", "LOGIN", "Login: 100", "100%", "faster_", "_", "%", "ogi", "lo", "x",
           "Ünïcode", "ÜNÏCODE", "çafé", '"hello"', 'say "', "a\\b", "\\", "1.2.3 (", "e",
           "STRASSE", "straße", "and\nnew", "nothing like this", "ab", "Fix the login page!"]


def _database(database_url: str) -> Database:
    upgrade(database_url)
    db = Database(database_url)
    with db.session() as session:
        for n, message in enumerate(MESSAGES * 3):
            session.add(Build(repository=f"acme/r{n % 2}", provider="github",
                              ref="refs/heads/main", commit_sha=uuid.uuid4().hex + "0" * 8,
                              commit_message=message, clone_url="/nowhere",
                              dockerfile="Dockerfile", context=".", status="staged", tags=[],
                              history=[], created_at=utcnow()))
            session.flush()
    return db


def _found(db: Database, query: str, **more) -> list[str]:
    """Every build id list_builds gives for q=query, page after page of 4."""
    ids, cursor = [], None
    with db.session() as session:
        while True:
            page, cursor = list_builds(session, BuildFilter(text=query, limit=4, cursor=cursor,
                                                            **more))
            ids += [b.id for b in page]
            if cursor is None:
                return ids


def test_q_finds_the_same_builds_with_the_index_as_without(database_url, monkeypatch):
    db = _database(database_url)
    indexed = {(q, r): _found(db, q, repository=r) for q in QUERIES for r in (None, "acme/r1")}
    # PostgreSQL searches the newest builds first, then asks the index for older ones.
    monkeypatch.setattr("history.message_search.RECENT_BUILDS", 4)
    assert indexed == {(q, r): _found(db, q, repository=r) for q, r in indexed}
    monkeypatch.setattr("history.message_search.RECENT_BUILDS", 10**6)
    monkeypatch.setattr("history.message_search.narrowing", lambda _session, _text: None)
    with db.engine.begin() as conn:
        conn.execute(text(f"DROP INDEX IF EXISTS {message_search.TRGM_INDEX}"))
    plain = {(q, r): _found(db, q, repository=r) for q in QUERIES for r in (None, "acme/r1")}
    assert indexed == plain
    # Case-insensitive substrings, newest first (ASCII alike on both databases).
    with db.session() as session:
        newest_first = [(b.id, b.commit_message) for b in
                        session.query(Build).order_by(Build.id.desc())]
    for q in ("login", "LOGIN", "100%", "faster_", '"hello"', "a\\b", "1.2.3 (", "x", "lo"):
        assert indexed[q, None] == [i for i, m in newest_first if m and q.lower() in m.lower()]
    assert len(indexed["login", None]) == 9 and indexed["nothing like this", None] == []
    db.engine.dispose()


def test_the_index_is_what_answers_q(database_url):
    db = _database(database_url)
    with db.engine.connect() as conn:
        if conn.dialect.name == "sqlite":
            with db.session() as session:
                condition = message_search.narrowing(session, "login")
            assert condition is not None
            plan = conn.exec_driver_sql(
                "EXPLAIN QUERY PLAN SELECT id FROM builds WHERE "
                f"{condition.compile(compile_kwargs={'literal_binds': True})}").fetchall()
            assert any("VIRTUAL TABLE INDEX" in row[-1] for row in plan), plan
        else:
            conn.exec_driver_sql("SET enable_seqscan = off")  # a small table is read whole
            plan = "\n".join(row[0] for row in conn.exec_driver_sql(
                "EXPLAIN SELECT id FROM builds WHERE commit_message ILIKE %s", ("%login%",)))
            assert f"Bitmap Index Scan on {message_search.TRGM_INDEX}" in plan, plan
    db.engine.dispose()


def test_changed_deleted_and_copied_builds_stay_found(database_url):
    db = _database(database_url)
    with db.session() as session:
        build = session.query(Build).filter_by(commit_message="Fix the login page").first()
        build.commit_message = "Fix the signup page"
        other = session.query(Build).filter_by(commit_message="Tidy the Login form").first()
        session.delete(other)
        changed, deleted = build.id, other.id
    assert changed in _found(db, "signup") and changed not in _found(db, "login")
    assert deleted not in _found(db, "login") and len(_found(db, "login")) == 7
    if db.engine.dialect.name == "sqlite":
        # A later migration that copies the builds table (Alembic's batch mode) drops its
        # triggers and may renumber its rows: the next upgrade puts both right.
        with db.engine.begin() as conn:
            conn.exec_driver_sql("CREATE TABLE builds_copy AS SELECT * FROM builds")
            for name in ("insert", "delete", "update"):
                conn.exec_driver_sql(f"DROP TRIGGER {message_search.FTS_TABLE}_{name}")
            conn.exec_driver_sql("DELETE FROM builds")
            conn.exec_driver_sql("INSERT INTO builds SELECT * FROM builds_copy "
                                 "ORDER BY id DESC")
            conn.exec_driver_sql("DROP TABLE builds_copy")
        upgrade(database_url)
        assert len(_found(db, "login")) == 7 and _found(db, "signup") == [changed]
    db.engine.dispose()


@pytest.fixture
def postgres_url(services):
    """An empty PostgreSQL database of this test's own, whichever database the run tests."""
    ServiceSet(ROOT / "var").ensure([postgres_service()])
    name = f"lockmaster_test_{REDIS_DB}_no_ext"
    engine = create_engine(admin_url(), isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}"')
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    yield admin_url(name)
    with engine.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    engine.dispose()


@pytest.mark.once  # pg_trgm is PostgreSQL's: this test brings its own database in either pass
def test_without_pg_trgm_the_migration_passes_and_q_still_answers(postgres_url):
    """Injects: a role that may create tables but not extensions (no CREATE on the database)."""
    database_url = postgres_url
    role = f"lockmaster_no_ext_{uuid.uuid4().hex[:8]}"
    admin = create_engine(database_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f"CREATE ROLE {role} LOGIN")
        conn.exec_driver_sql(f"GRANT ALL ON SCHEMA public TO {role}")
        database = conn.exec_driver_sql("SELECT current_database()").scalar()
        conn.exec_driver_sql(f'REVOKE CREATE ON DATABASE "{database}" FROM PUBLIC')
    try:
        url = database_url.replace("//lockmaster@", f"//{role}@")
        db = _database(url)
        with db.engine.connect() as conn:
            assert conn.exec_driver_sql("SELECT count(*) FROM pg_indexes WHERE indexname = "
                                        f"'{message_search.TRGM_INDEX}'").scalar() == 0
        assert len(_found(db, "login")) == 9
        db.engine.dispose()
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql("DROP SCHEMA public CASCADE")
            conn.exec_driver_sql("CREATE SCHEMA public")
            conn.exec_driver_sql(f"DROP ROLE {role}")
        admin.dispose()
