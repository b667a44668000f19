"""`lockmaster history` and `lockmaster lineage`: the history API's questions as tables."""

from __future__ import annotations

import json

import click
from rich.console import Console
from rich.table import Table

from bootstrap import CommandContext, pass_command_context
from history import filters, queries
from record.documents import build_summary


@click.command()
@click.option("--repository", help="only builds of this repository (e.g. acme/web)")
@click.option("--status", help="only builds with this status (staged, failed, …)")
@click.option("--limit", default=50, show_default=True, type=int, help="how many, newest first")
@click.option("--json", "as_json", is_flag=True, help="print JSON for scripts")
@pass_command_context
def history(command: CommandContext, repository: str | None, status: str | None, limit: int,
            as_json: bool) -> None:
    """Recent builds, newest first (the same query as GET /api/v1/builds)."""
    try:
        wanted = filters.build_filter({k: v for k, v in (
            ("repository", repository), ("status", status), ("limit", str(limit))) if v})
    except filters.BadFilter as exc:
        raise click.ClickException(str(exc)) from exc
    with command.runtime.db.session() as session:
        page, _next = queries.list_builds(session, wanted)
        items = [build_summary(b) for b in page]
    if as_json:
        click.echo(json.dumps(items, indent=2))
        return
    table = Table(title="Builds, newest first")
    for column in ("build", "#", "repository", "ref", "commit", "pusher", "status", "digest",
                   "created"):
        table.add_column(column, overflow="fold")
    for item in items:
        table.add_row(item["id"], f"#{item['number']}" if item["number"] else "",
                      item["repository"], item["ref"], item["commit"]["sha"][:12],
                      item["pusher"] or "", item["status"], _short(item["digest"]),
                      item["created_at"] or "")
    Console(width=200).print(table)


@click.command()
@click.argument("digest")
@click.option("--json", "as_json", is_flag=True, help="print JSON for scripts")
@pass_command_context
def lineage(command: CommandContext, digest: str, as_json: bool) -> None:
    """Where DIGEST came from, who let it where, and where it is now (GET /api/v1/images)."""
    try:
        digest = filters.image_digest(digest)
    except filters.BadFilter as exc:
        raise click.ClickException(str(exc)) from exc
    runtime = command.runtime
    with runtime.db.session() as session:
        found = queries.image_lineage(session, runtime.settings, digest)
    if found is None:
        raise click.ClickException(f"no build or promotion made {digest}")
    if as_json:
        click.echo(json.dumps(found, indent=2))
        return
    _print_lineage(found)


def _print_lineage(found: dict) -> None:
    console = Console(width=200)
    build, commit = found["build"], found["commit"]
    facts = Table(title=f"Lineage of {found['digest']}", show_header=False)
    for key, value in (("image", found["image"]),
                       ("build", f"{build['repository']} #{build['number']} ({build['id']})"),
                       ("repository", build["repository"]), ("ref", commit["ref"]),
                       ("commit", commit["sha"]), ("message", commit["message"]),
                       ("author", commit["author"]), ("pushed by", commit["pusher"]),
                       ("Dockerfile", found["dockerfile"]),
                       ("build args", ", ".join(found["build_args"]) or "none")):
        facts.add_row(key, str(value or ""))
    console.print(facts)
    _rows(console, "Gates", ("gate", "status", "summary"),
          [(g["name"], g["status"], g["summary"] or "") for g in found["gates"]])
    _rows(console, "Approvals", ("by", "decision", "via", "when", "comment"),
          [(a["by"], a["decision"], a["via"], a["at"] or "", a["comment"] or "")
           for a in found["approvals"]])
    _rows(console, "Promotions", ("to", "status", "tags", "by", "when", "replaced"),
          [(p["to"], p["status"], ", ".join(p["tags"]), p["actor"] or "",
            p["finished_at"] or "", _short(p["replaced_digest"])) for p in found["promotions"]])
    _rows(console, "Where it is", ("environment", "repository", "tags", "since", "now"),
          [(e["environment"], e["repository"], ", ".join(e["tags"]), e["since"] or "",
            "yes" if e["current"] else "replaced") for e in found["environments"]])


def _rows(console: Console, title: str, columns: tuple[str, ...], rows: list[tuple]) -> None:
    table = Table(title=title)
    for column in columns:
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(*row)
    console.print(table if rows else f"{title}: none")


def _short(digest: str | None) -> str:
    return digest[:19] if digest else ""
