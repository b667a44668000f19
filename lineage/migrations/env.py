"""Alembic environment: the URL comes from Lockmaster's settings, never from a file."""

from alembic import context
from sqlalchemy import create_engine

from lineage.models import Base

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
        )
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


run_migrations()
