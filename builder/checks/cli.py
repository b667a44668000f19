"""`lockmaster advisories …`: manage the offline advisory database the vulnerability gate uses."""

from __future__ import annotations

from pathlib import Path

import click


@click.group()
def advisories() -> None:
    """The offline OSV advisory database."""


@advisories.command("import")
@click.argument("path", type=click.Path(exists=True, path_type=Path))
def import_command(path: Path) -> None:
    """Load OSV records from a folder or zip of JSON files (re-import updates in place)."""
    from sqlalchemy.exc import OperationalError, ProgrammingError

    from app import _settings_or_exit
    from builder.checks.advisorydb import AdvisoryImportError, import_advisories
    from lineage.db import Database

    settings = _settings_or_exit()
    try:
        report = import_advisories(Database(settings.database_url), path)
    except AdvisoryImportError as exc:
        raise click.ClickException(f"{exc}; nothing was imported") from exc
    except (OperationalError, ProgrammingError) as exc:
        raise click.ClickException(f"the database at {settings.database_url} is not ready "
                                   f"({exc.orig}); run `lockmaster db upgrade` first") from exc
    click.echo(f"imported {report.added + report.updated} advisories from {path} "
               f"({report.added} new, {report.updated} updated)")
