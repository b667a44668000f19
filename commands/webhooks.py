"""`lockmaster build` and `lockmaster deliveries`: builds by hand, stored deliveries."""

from __future__ import annotations

import json

import click

from bootstrap import CommandContext, pass_command_context
from states import DeliveryOutcome
from webhooks.outcomes import Outcome


def _report(runtime, outcome: Outcome) -> None:
    """Print the answer once its rows are written (so `deliveries list` shows them)."""
    from webhooks.recorder import record_all

    if outcome.status != 503:
        record_all(runtime)
    click.echo(json.dumps(outcome.body, indent=2))
    if outcome.status >= 400:
        raise click.exceptions.Exit(1)


@click.command("build")
@click.argument("repository")
@click.argument("ref", required=False)
@click.option("--sha", help="Build this commit (with REF: only while REF's tip is this commit).")
@click.option("--user", envvar="LOCKMASTER_USER", required=True,
              help="The Lockmaster user asking, recorded as the pusher (or $LOCKMASTER_USER).")
@pass_command_context
def build(command: CommandContext, repository: str, ref: str | None, sha: str | None,
          user: str) -> None:
    """Build REPOSITORY at REF (branch, tag or refs/...) as if its push webhook had come."""
    from webhooks.manual import trigger

    app, runtime = command.app(), command.runtime
    with app.app_context():
        _may_build(runtime, user, repository)
        request = {"repository": repository, "ref": ref, "sha": sha, "requested_by": user}
        _report(runtime, trigger(runtime, {k: v for k, v in request.items() if v}))


def _may_build(runtime, username: str, repository: str) -> None:
    """ClickException unless username is a Lockmaster user who may build repository."""
    from sqlalchemy import select

    from auth.access import may
    from record.accounts import User

    with runtime.db.session() as session:
        user = session.scalar(select(User).where(User.username == username))
        if user is None:
            raise click.ClickException(f"no Lockmaster user named '{username}': give --user "
                                       "(see `lockmaster users list`)")
        if not may(user, "build", repository):
            raise click.ClickException(f"{username} ({user.role}) may not build {repository}")


@click.group()
def deliveries() -> None:
    """Webhook deliveries as received: list them, replay one."""


@deliveries.command("list")
@click.option("--limit", default=30, show_default=True, type=click.IntRange(1, 1000))
@click.option("--outcome", type=click.Choice([o.value for o in DeliveryOutcome]))
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
@pass_command_context
def list_deliveries(command: CommandContext, limit: int, outcome: str | None,
                    as_json: bool) -> None:
    """The newest deliveries, with what Lockmaster made of each."""
    from webhooks.replay import recent_deliveries

    for row in recent_deliveries(command.runtime, limit, outcome):
        if as_json:
            click.echo(json.dumps(row))
            continue
        builds = ",".join(b[:8] for b in row["builds"]) or "-"
        click.echo(f"{row['id']:>6}  {row['received_at']}  {row['provider']:<9} "
                   f"{row['outcome']:<9} {row['status']}  {row['repository'] or '-'} "
                   f"{row['ref'] or '-'}  builds={builds}  {row['reason'] or ''}".rstrip())


@deliveries.command("show")
@click.argument("delivery", type=int)
@pass_command_context
def show_delivery(command: CommandContext, delivery: int) -> None:
    """Print stored delivery DELIVERY: outcome, headers and raw body."""
    from webhooks.replay import CannotReplay, stored_delivery

    try:
        click.echo(json.dumps(stored_delivery(command.runtime, delivery), indent=2))
    except CannotReplay as exc:
        raise click.ClickException(str(exc)) from exc


@deliveries.command("replay")
@click.argument("delivery", type=int)
@pass_command_context
def replay_delivery(command: CommandContext, delivery: int) -> None:
    """Run stored delivery DELIVERY (its number in `deliveries list`) through intake again."""
    from webhooks.replay import CannotReplay, replay

    app, runtime = command.app(), command.runtime
    with app.app_context():
        try:
            _report(runtime, replay(runtime, delivery))
        except CannotReplay as exc:
            raise click.ClickException(str(exc)) from exc


@click.command("recorder")
@click.option("--parent", type=int, help="Exit when this process (the worker) is gone.")
@pass_command_context
def recorder(command: CommandContext, parent: int | None) -> None:
    """Write admitted webhook deliveries to the database and queue their builds (each
    `lockmaster worker` runs one; run more for heavy webhook traffic)."""
    from webhooks.recorder import run_recorder

    app, runtime = command.app(), command.runtime
    with app.app_context():
        run_recorder(runtime, parent)

