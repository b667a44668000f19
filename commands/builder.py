"""`lockmaster logs|cancel|retry|reconcile|gc`: build commands of the command line."""

from __future__ import annotations

import click

from bootstrap import CommandContext, pass_command_context
from states import BuildStatus


@click.command()
@click.argument("build_id")
@click.option("-f", "--follow", is_flag=True, help="Keep printing lines until the build ends.")
@pass_command_context
def logs(command: CommandContext, build_id: str, follow: bool) -> None:
    """Print a build's log."""
    from builder.buildlog import live_lines
    from builder.follow import End
    from builder.follow import follow as follow_lines
    from record.models import Build

    runtime = command.runtime
    with runtime.db.session() as session:
        build = session.get(Build, build_id)
        if build is None:
            raise click.ClickException(f"no build with id '{build_id}'")
        stored = build.log
    if not follow:
        click.echo(stored if stored is not None else
                   "\n".join(live_lines(runtime.redis, build_id)), nl=stored is None)
        return
    for item in follow_lines(runtime.redis, runtime.db, build_id):
        if isinstance(item, End):
            click.echo(f"-- build {build_id} ended: {item.status}", err=True)
        else:
            click.echo(item)


@click.command()
@click.argument("build_id")
@click.option("--by", default=None, help="Who cancels (default: $LOCKMASTER_USER or you).")
@pass_command_context
def cancel(command: CommandContext, build_id: str, by: str | None) -> None:
    """Cancel a queued build, or stop a running one on the engine."""
    from builder.control import BuildConflict, BuildNotFound, cancel_build

    try:
        outcome = cancel_build(command.runtime, build_id, by or command.operator)
    except (BuildNotFound, BuildConflict) as exc:
        raise click.ClickException(str(exc)) from exc
    if outcome.status == BuildStatus.CANCELLED:
        click.echo(f"build {build_id} cancelled by {outcome.cancelled_by}")
    else:
        click.echo(f"build {build_id} is {outcome.status}: its worker is stopping it "
                   f"(follow with `lockmaster logs -f {build_id}`)")


@click.command()
@click.argument("build_id")
@click.option("--by", default=None, help="Who retries (default: $LOCKMASTER_USER or you).")
@pass_command_context
def retry(command: CommandContext, build_id: str, by: str | None) -> None:
    """Queue a new build of the same commit, linked to this one."""
    from builder.control import BuildConflict, BuildNotFound, retry_build

    try:
        new_id = retry_build(command.runtime, build_id, by or command.operator)
    except (BuildNotFound, BuildConflict) as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(new_id)


@click.command("reconcile")
@click.option("--grace", default=30, show_default=True,
              help="Seconds a queued build may wait for its job before it counts as lost.")
@pass_command_context
def reconcile_command(command: CommandContext, grace: int) -> None:
    """Settle builds whose job vanished or whose worker died (re-queue or fail), and queue
    again the notifications whose job was lost."""
    from builder.reconcile import reconcile
    from notify.publish import requeue_pending

    runtime = command.runtime
    settled = reconcile(runtime, grace_seconds=grace)
    for item in settled:
        click.echo(f"{item.build_id} ({item.before}): {item.action}")
    click.echo(f"{len(settled)} build(s) settled")
    click.echo(f"{len(requeue_pending(runtime, grace_seconds=grace))} notification(s) queued "
               "again")


@click.command()
@click.option("--dry-run", is_flag=True, help="Only say what would be removed.")
@pass_command_context
def gc(command: CommandContext, dry_run: bool) -> None:
    """Remove Lockmaster's dangling images, leftover build containers and old mirrors, and
    what the retention policy no longer keeps of the record (lockmaster.yml `retention:`)."""
    from builder.gc import collect
    from record.retention import apply_retention

    runtime = command.runtime
    report = collect(runtime, dry_run=dry_run)
    verb = "would remove" if dry_run else "removed"
    for kind, items in report.items():
        click.echo(f"{verb} {len(items)} {kind}")
        for item in items:
            click.echo(f"  {item}")
    for kind, count in apply_retention(runtime.db, runtime.settings.retention,
                                       dry_run=dry_run).items():
        click.echo(f"{verb} {count} {kind}")

