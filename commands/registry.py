"""`lockmaster robots …`, `lockmaster registry-keys`, `verify-registry` and `registry-setup`."""

from __future__ import annotations

import click

from auth import credentialchanges
from bootstrap import CommandContext, pass_command_context
from registry import robots, signing


@click.group("robots")
def robots_group() -> None:
    """Robot accounts that pull from the registry (deploy targets)."""


@robots_group.command("create")
@click.argument("name")
@click.option("--pull", "pull", multiple=True, required=True,
              help="Registry repositories it may pull, e.g. 'production/acme/*' (repeatable).")
@pass_command_context
def robots_create(command: CommandContext, name: str, pull: tuple[str, ...]) -> None:
    """Create a deploy robot; prints its token once (use it as the `docker login` password)."""
    try:
        token = robots.create_robot(command.runtime.db, name, list(pull))
    except robots.RobotError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"created robot {name} pulling {', '.join(pull)}; its token (shown once):")
    click.echo(token)


@robots_group.command("revoke")
@click.argument("name")
@pass_command_context
def robots_revoke(command: CommandContext, name: str) -> None:
    """Revoke a robot's token."""
    try:
        robots.revoke_robot(command.runtime.db, name)
        credentialchanges.forget(command.settings.redis_url, [f"robot:{name}"])
    except (robots.RobotError, credentialchanges.NotForgotten) as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"revoked robot {name}")


@robots_group.command("list")
@pass_command_context
def robots_list(command: CommandContext) -> None:
    """Every robot: name, purpose, pull patterns, whether revoked."""
    for robot in robots.all_robots(command.runtime.db):
        state = "revoked" if robot.revoked_at else "active"
        click.echo(f"{robot.name}\t{robot.purpose}\t{','.join(robot.pull)}\t{state}")


@click.command("registry-keys")
@click.option("--rotate", is_flag=True, help="Stage a new signing key: its certificate joins "
                                              "the bundle; restart the registry, then --activate.")
@click.option("--activate", is_flag=True, help="Sign tokens with the staged key, once the "
                                                "restarted registry trusts it.")
@pass_command_context
def registry_keys(command: CommandContext, rotate: bool, activate: bool) -> None:
    """Show the token service's certificate bundle, or rotate its key in two steps."""
    settings = command.settings
    if rotate and activate:
        raise click.UsageError("--rotate and --activate are two steps: restart the registry "
                               "between them")
    if rotate:
        path = signing.rotate(settings.data_dir, settings.registry.token_seconds)
        click.echo(f"staged a new signing key: its certificate is now in {path} beside the "
                   "current one. Restart the registry so it reads the bundle (it does only at "
                   "start; rerun registry-setup first if it reads a copy), then run "
                   "`lockmaster registry-keys --activate`.")
    elif activate:
        _activate(settings)
    else:
        signing.load_or_create(settings.data_dir)
        click.echo(str(signing.bundle_path(settings.data_dir)))


def _activate(settings) -> None:
    from registry.keycheck import registry_trusts

    key = signing.staged(settings.data_dir)
    if key is None:
        raise click.ClickException("no new key is staged: run `lockmaster registry-keys "
                                   "--rotate` first")
    try:
        trusted = registry_trusts(settings, key)
    except signing.SigningError as exc:
        raise click.ClickException(str(exc)) from exc
    if not trusted:
        raise click.ClickException(
            f"the registry at {settings.registry.url} does not trust the staged key yet: "
            "restart it so it rereads its rootcertbundle, then run --activate again "
            "(tokens are still signed by the current key)")
    signing.activate(settings.data_dir, settings.registry.token_seconds)
    click.echo("tokens are now signed by the new key; the old certificate stays in the bundle "
               f"until the tokens it signed have expired ({settings.registry.token_seconds}s)")


@click.command("verify-registry")
@pass_command_context
def verify_registry(command: CommandContext) -> None:
    """Compare every production tag's digest with the lineage record; exit 1 on mismatch."""
    from registry.verify import mismatches

    found = mismatches(command.runtime)
    for line in found:
        click.echo(line)
    if found:
        raise click.ClickException(f"{len(found)} production tag(s) differ from the record")
    click.echo("every production tag serves the digest Lockmaster promoted")


@click.command("registry-setup")
@click.option("--dir", "folder", required=True, type=click.Path(file_okay=False),
              help="Where to write config.yml, bundle.pem and the certificates.")
@click.option("--listen", default="0.0.0.0:5000", show_default=True,
              help="The registry's listen address.")
@click.option("--web-url", required=True, help="Lockmaster's URL as Docker clients reach it "
                                               "(the token realm), e.g. https://lm.example.com")
@click.option("--events-url", help="Lockmaster's URL as the registry reaches it, for "
                                   "notifications (default: --web-url), e.g. https://web:8000")
@click.option("--storage", default="/var/lib/registry", show_default=True)
@click.option("--metrics-listen", default="127.0.0.1:5001", show_default=True,
              help="Where the registry serves its own Prometheus metrics (/metrics); keep it "
                   "on loopback or an internal network: it is unauthenticated.")
@click.option("--tls-host", "tls_hosts", multiple=True,
              help="Serve TLS with a local-CA certificate for this name (repeatable).")
@pass_command_context
def registry_setup(command: CommandContext, folder: str, listen: str, web_url: str,
                   events_url: str | None, storage: str, metrics_listen: str,
                   tls_hosts: tuple[str, ...]) -> None:
    """Write the registry's config: token auth, notifications, TLS (docs/registry.md)."""
    from pathlib import Path

    from registry.setup import RegistryPlan, prepare

    plan = RegistryPlan(listen, web_url.rstrip("/"), (events_url or web_url).rstrip("/"),
                        storage, tls_hosts, metrics_listen)
    path = prepare(command.settings, plan, Path(folder))
    click.echo(f"wrote {path}")

