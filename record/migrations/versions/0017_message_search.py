"""commit messages searched through an index: pg_trgm on PostgreSQL, FTS5 trigram on SQLite

Revision ID: 0017
Revises: 0016
"""

import logging

from alembic import op
from sqlalchemy.exc import DBAPIError

from history.message_search import TRGM_INDEX, create_sqlite_index, drop_sqlite_index

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

log = logging.getLogger("alembic.runtime.migration")


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        if not create_sqlite_index(bind):
            log.warning("this SQLite has no FTS5 trigram tokenizer (3.34 or later): searching "
                        "commit messages (q) reads every build")
    elif bind.dialect.name == "postgresql":
        if _trigrams(bind):
            op.execute(f"CREATE INDEX {TRGM_INDEX} ON builds "
                       "USING gin (commit_message gin_trgm_ops)")
        else:
            log.warning("pg_trgm could not be created (the contrib package, or a role that may "
                        "CREATE in this database, is missing): searching commit messages (q) "
                        "reads every build; `CREATE EXTENSION pg_trgm` and then "
                        f"`CREATE INDEX {TRGM_INDEX} ON builds USING gin (commit_message "
                        "gin_trgm_ops)` add the index later")


def _trigrams(bind) -> bool:
    """True once pg_trgm is there; its failure is kept inside a savepoint, so the rest of the
    migration goes on."""
    try:
        with bind.begin_nested():
            bind.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    except DBAPIError:
        return False
    return True


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        drop_sqlite_index(bind)
    elif bind.dialect.name == "postgresql":
        op.execute(f"DROP INDEX IF EXISTS {TRGM_INDEX}")
