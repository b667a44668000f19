"""`lockmaster advisories …`: manage the offline advisory database the vulnerability gate uses."""

from __future__ import annotations

from pathlib import Path

import click

from bootstrap import CommandContext, pass_command_context


@click.group()
def advisories() -> None:
    """The offline OSV advisory database."""


@advisories.command("import")
@click.argument("path", type=click.Path(exists=True, path_type=Path))
@pass_command_context
def import_command(command: CommandContext, path: Path) -> None:
    """Load OSV records from a folder or zip of JSON files (re-import updates in place)."""
    from sqlalchemy.exc import OperationalError, ProgrammingError

    from builder.checks.advisorydb import AdvisoryImportError, import_advisories

    settings = command.settings
    try:
        report = import_advisories(command.runtime.db, path)
    except AdvisoryImportError as exc:
        raise click.ClickException(f"{exc}; nothing was imported") from exc
    except (OperationalError, ProgrammingError) as exc:
        raise click.ClickException(f"the database at {settings.database_url} is not ready "
                                   f"({exc.orig}); run `lockmaster db upgrade` first") from exc
    click.echo(f"imported {report.added + report.updated} advisories from {path} "
               f"({report.added} new, {report.updated} updated)")
