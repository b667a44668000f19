"""Finding builds by a piece of their commit message through an index (migration 0017):
pg_trgm's GIN index on PostgreSQL, an FTS5 trigram table on SQLite. Without them (no
pg_trgm, an SQLite without FTS5) the same query walks the builds: slower, same answer."""

from __future__ import annotations

from sqlalchemy import select, text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from record.models import ROW_ONLY, Build

FTS_TABLE = "builds_message_fts"
TRGM_INDEX = "ix_builds_commit_message_trgm"
# A trigram index has nothing to look up in a shorter text.
MIN_INDEXED = 3
# PostgreSQL: how many of the newest builds are searched in their order before the index is
# asked for the older ones (see newest_with_message).
RECENT_BUILDS = 5000
_FTS_NAMES = {FTS_TABLE} | {f"{FTS_TABLE}_{part}" for part in
                            ("data", "idx", "content", "docsize", "config")}
# The index follows the builds table through triggers; they refer to rows by rowid, which
# VACUUM keeps for a table with indexes (builds has its primary key's).
_TRIGGERS = {
    f"{FTS_TABLE}_insert": f"""
        CREATE TRIGGER {FTS_TABLE}_insert AFTER INSERT ON builds BEGIN
          INSERT INTO {FTS_TABLE}(rowid, commit_message)
          VALUES (new.rowid, new.commit_message);
        END""",
    f"{FTS_TABLE}_delete": f"""
        CREATE TRIGGER {FTS_TABLE}_delete AFTER DELETE ON builds BEGIN
          INSERT INTO {FTS_TABLE}({FTS_TABLE}, rowid, commit_message)
          VALUES ('delete', old.rowid, old.commit_message);
        END""",
    f"{FTS_TABLE}_update": f"""
        CREATE TRIGGER {FTS_TABLE}_update AFTER UPDATE OF commit_message ON builds BEGIN
          INSERT INTO {FTS_TABLE}({FTS_TABLE}, rowid, commit_message)
          VALUES ('delete', old.rowid, old.commit_message);
          INSERT INTO {FTS_TABLE}(rowid, commit_message)
          VALUES (new.rowid, new.commit_message);
        END""",
}


def is_search_index(name: str | None, type_: str, _parents: dict) -> bool:
    """True for the search index's tables and index, which no model declares (autogenerate
    and the schema test leave them out: include_name=lambda *a: not is_search_index(*a))."""
    return (type_ == "table" and name in _FTS_NAMES) or (type_ == "index" and name == TRGM_INDEX)


def create_sqlite_index(connection: Connection) -> bool:
    """Create the FTS5 trigram table over builds.commit_message with its triggers and fill
    it; False if this SQLite has no FTS5 trigram tokenizer (3.34 or later)."""
    try:
        connection.exec_driver_sql(
            f"CREATE VIRTUAL TABLE {FTS_TABLE} USING fts5(commit_message, content='builds', "
            "tokenize='trigram')")
    except DBAPIError as exc:  # sqlite3 says "no such module: fts5" or "no such tokenizer"
        if "fts5" in str(exc).lower() or "tokenizer" in str(exc).lower():
            return False
        raise
    heal_sqlite_index(connection)
    return True


def heal_sqlite_index(connection: Connection) -> None:
    """Put back triggers that a copy of the builds table (Alembic's batch mode) dropped, and
    refill the index, whose rowids the copy may have changed; nothing if none is missing."""
    names = {row[0] for row in connection.exec_driver_sql(
        "SELECT name FROM sqlite_master WHERE type IN ('table', 'trigger')")}
    if FTS_TABLE not in names or set(_TRIGGERS) <= names:
        return
    for name, ddl in _TRIGGERS.items():
        connection.exec_driver_sql(f"DROP TRIGGER IF EXISTS {name}")
        connection.exec_driver_sql(ddl)
    connection.exec_driver_sql(f"INSERT INTO {FTS_TABLE}({FTS_TABLE}) VALUES ('rebuild')")


def drop_sqlite_index(connection: Connection) -> None:
    """Remove the FTS5 table and its triggers."""
    for name in _TRIGGERS:
        connection.exec_driver_sql(f"DROP TRIGGER IF EXISTS {name}")
    connection.exec_driver_sql(f"DROP TABLE IF EXISTS {FTS_TABLE}")


def newest_builds(session: Session, conditions: list, limit: int) -> list[Build]:
    """The newest `limit` builds that meet every condition, newest first."""
    return list(session.scalars(select(Build).options(ROW_ONLY).where(*conditions)
                                .order_by(Build.id.desc()).limit(limit)))


def newest_with_message(session: Session, conditions: list, wanted: str, limit: int) \
        -> list[Build]:
    """The newest `limit` builds that meet every condition and whose commit message holds
    wanted (case-insensitive), newest first.

    PostgreSQL's planner takes matches as spread evenly over time and walks the builds
    newest first, which reads most of the table when they are all old. So the newest
    RECENT_BUILDS are searched that way (bounded), and only if they hold too few matches are
    the older ones found through the trigram index, then sorted (bounded by their number)."""
    matching = [Build.commit_message.ilike(f"%{_escape_like(wanted)}%", escape="\\")]
    narrowed = narrowing(session, wanted)
    if narrowed is not None:  # first, so that SQLite reads only the rows the index lets through
        matching.insert(0, narrowed)
    if session.connection().dialect.name != "postgresql" or len(wanted) < MIN_INDEXED:
        return newest_builds(session, conditions + matching, limit)
    floor = session.scalar(select(Build.id).where(*conditions).order_by(Build.id.desc())
                           .offset(RECENT_BUILDS - 1).limit(1))
    if floor is None:
        return newest_builds(session, conditions + matching, limit)
    recent = newest_builds(session, [*conditions, Build.id >= floor, *matching], limit)
    if len(recent) == limit:
        return recent
    older = select(Build.id).where(*conditions, Build.id < floor, *matching) \
        .cte("older_matches").prefix_with("MATERIALIZED")
    ids = select(older.c.id).order_by(older.c.id.desc()).limit(limit - len(recent))
    return recent + newest_builds(session, [Build.id.in_(ids)], limit - len(recent))


def _escape_like(wanted: str) -> str:
    """wanted with LIKE's wildcards taken literally."""
    return wanted.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def narrowing(session: Session, wanted: str):
    """A condition that narrows builds to those whose message may hold wanted, answered by
    the SQLite index (None where there is none to ask: the caller's ILIKE decides, and still
    decides what the index lets through, so the answer is the same either way)."""
    connection = session.connection()
    if connection.dialect.name != "sqlite" or len(wanted) < MIN_INDEXED:
        return None
    if not _has_fts(connection):
        return None
    # A phrase of the text's trigrams in a row: the message holds the text, case folded.
    phrase = '"' + wanted.replace('"', '""') + '"'
    # The unary + keeps SQLite walking builds newest first, stopping at the page's end, with
    # the matches as a set to look rows up in: bounded by the table's index however many
    # messages match (sorting every match instead took 57 ms for a word in all of 100,000).
    return text(f"+builds.rowid IN (SELECT rowid FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH "
                ":message_phrase)").bindparams(message_phrase=phrase)


def _has_fts(connection: Connection) -> bool:
    """Whether this database has the FTS5 table (asked once per database connection)."""
    known = connection.info.get(FTS_TABLE)
    if known is None:
        known = bool(connection.exec_driver_sql(f"PRAGMA table_info({FTS_TABLE})").fetchall())
        connection.info[FTS_TABLE] = known
    return known
