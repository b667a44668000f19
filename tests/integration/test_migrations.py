"""Migrations from an empty database, every step up and down, and models that match them."""

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect

from history.message_search import is_search_index
from record.migrate import alembic_config, upgrade
from record.models import Base


def _revisions(config) -> list[str]:
    script = ScriptDirectory.from_config(config)
    return [rev.revision for rev in reversed(list(script.walk_revisions()))]


def test_every_migration_upgrades_and_downgrades_one_step_at_a_time(database_url):
    config = alembic_config(database_url)
    revisions = _revisions(config)
    assert revisions, "no migrations found"
    upgrade(database_url, "base")
    for revision in revisions:
        command.upgrade(config, revision)
    for revision in reversed(revisions[:-1]):
        command.downgrade(config, revision)
    command.downgrade(config, "base")
    engine = create_engine(database_url)
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    engine.dispose()


def test_the_migrated_schema_matches_the_models(database_url):
    upgrade(database_url)
    engine = create_engine(database_url)
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={
            "include_name": lambda *named: not is_search_index(*named)})
        differences = compare_metadata(context, Base.metadata)
    engine.dispose()
    assert differences == []


def test_upgrade_is_idempotent(database_url):
    upgrade(database_url)
    upgrade(database_url)
