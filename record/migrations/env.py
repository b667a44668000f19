"""Alembic environment: the URL comes from Lockmaster's settings, never from a file."""

from alembic import context
from sqlalchemy import create_engine

from history.message_search import heal_sqlite_index, is_search_index
from record.models import Base

config = context.config


def run_migrations() -> None:
    """Run migrations online against the configured database."""
    url = config.attributes.get("database_url") or config.get_main_option("sqlalchemy.url")
    engine = create_engine(url)
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=Base.metadata,
            render_as_batch=connection.dialect.name == "sqlite",
            include_name=lambda *named: not is_search_index(*named),
        )
        with context.begin_transaction():
            context.run_migrations()
        if connection.dialect.name == "sqlite":
            # A migration that copied the builds table (batch mode) took the triggers.
            heal_sqlite_index(connection)
            connection.commit()
    engine.dispose()


run_migrations()
