"""`lockmaster users …` and `lockmaster tokens …`."""

from __future__ import annotations

import sys

import click

from auth import credentialchanges, tokens, users
from auth.roles import ROLES, TOKEN_SCOPES
from bootstrap import CommandContext, pass_command_context
from record.audit import audit

HOSTS = ("github", "gitlab", "gitea", "bitbucket")
IDENTITY_KINDS = (*HOSTS, *(f"{host}-id" for host in HOSTS), "email")


def _forget(command: CommandContext, accounts: list[str]) -> None:
    try:
        credentialchanges.forget(command.settings.redis_url, accounts)
    except credentialchanges.NotForgotten as exc:
        raise click.ClickException(str(exc)) from exc


def _password(stdin: bool) -> str:
    if stdin:
        return sys.stdin.readline().rstrip("\n")
    return click.prompt("Password", hide_input=True, confirmation_prompt=True)


@click.group("users")
def users_group() -> None:
    """People who log in to the web UI."""


@users_group.command("add")
@click.argument("name")
@click.option("--role", type=click.Choice(ROLES), default="viewer", show_default=True)
@click.option("--repos", default="", help="Repositories an approver may approve, e.g. 'acme/*' "
                                          "(comma-separated patterns).")
@click.option("--password-stdin", is_flag=True, help="Read the password from stdin.")
@pass_command_context
def users_add(command: CommandContext, name: str, role: str, repos: str,
              password_stdin: bool) -> None:
    """Create a user (prompts for the password unless --password-stdin)."""
    patterns = [p.strip() for p in repos.split(",") if p.strip()]
    try:
        users.add_user(command.runtime.db, name, role, patterns, _password(password_stdin))
    except users.UserError as exc:
        raise click.ClickException(str(exc)) from exc
    scope = f" on {', '.join(patterns)}" if patterns else ""
    click.echo(f"created {role} {name}{scope}")


@users_group.command("list")
@pass_command_context
def users_list(command: CommandContext) -> None:
    """Every user with role, repositories and linked identities."""
    for user in users.all_users(command.runtime.db):
        linked = ", ".join(f"{i.kind}:{i.value}" for i in user.identities) or "-"
        click.echo(f"{user.username}\t{user.role}\t{','.join(user.repositories) or '-'}\t{linked}")


@users_group.command("passwd")
@click.argument("name")
@click.option("--password-stdin", is_flag=True, help="Read the password from stdin.")
@pass_command_context
def users_passwd(command: CommandContext, name: str, password_stdin: bool) -> None:
    """Set a user's password."""
    try:
        users.set_password(command.runtime.db, name, _password(password_stdin))
    except users.UserError as exc:
        raise click.ClickException(str(exc)) from exc
    _forget(command, credentialchanges.user_accounts(command.runtime.db, name))
    click.echo(f"password of {name} changed")


@users_group.command("set")
@click.argument("name")
@click.option("--role", type=click.Choice(ROLES), help="The user's new role.")
@click.option("--repos", help="The user's new repository scope, e.g. 'acme/*' (comma-separated "
                              "patterns; '' for none).")
@pass_command_context
def users_set(command: CommandContext, name: str, role: str | None, repos: str | None) -> None:
    """Change a user's role or repository scope; registry tokens follow at once."""
    if role is None and repos is None:
        raise click.UsageError("give --role, --repos or both")
    patterns = None if repos is None else [p.strip() for p in repos.split(",") if p.strip()]
    try:
        user = users.set_access(command.runtime.db, name, role, patterns)
    except users.UserError as exc:
        raise click.ClickException(str(exc)) from exc
    # The token service remembers what a credential may do for a minute and hands a token out
    # again for 5 s: both are keyed by the account's generation, which this forgets.
    _forget(command, credentialchanges.user_accounts(command.runtime.db, name))
    scope = ", ".join(user.repositories or []) or "no repositories"
    audit(command.runtime.db, "user-access", command.operator, name,
          detail=f"role {user.role}; repositories {scope}")
    click.echo(f"{name} is now {user.role} on {scope}")


@users_group.command("link")
@click.argument("name")
@click.option("--github", multiple=True, help="GitHub login.")
@click.option("--github-id", multiple=True, help="GitHub account id (a push's sender.id).")
@click.option("--gitlab", multiple=True, help="GitLab username.")
@click.option("--gitlab-id", multiple=True, help="GitLab user id (a push's user_id).")
@click.option("--gitea", multiple=True, help="Gitea/Forgejo login.")
@click.option("--gitea-id", multiple=True, help="Gitea/Forgejo user id (a push's sender.id).")
@click.option("--bitbucket", multiple=True, help="Bitbucket nickname.")
@click.option("--bitbucket-id", multiple=True, help="Bitbucket account_id or {uuid}.")
@click.option("--email", multiple=True)
@pass_command_context
def users_link(command: CommandContext, name: str, **kinds: tuple[str, ...]) -> None:
    """Link Git host accounts (ids and names) and emails to a user (used by four-eyes)."""
    pairs = [(kind, value.strip()) for kind in IDENTITY_KINDS
             for value in kinds[kind.replace("-", "_")]]
    if not pairs:
        raise click.UsageError("give at least one of --github[-id]/--gitlab[-id]/--gitea[-id]/"
                               "--bitbucket[-id]/--email")
    try:
        users.link(command.runtime.db, name, pairs)
    except users.UserError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"linked {', '.join(f'{k}:{v}' for k, v in pairs)} to {name}")


@users_group.command("bootstrap-admin")
@pass_command_context
def users_bootstrap_admin(command: CommandContext) -> None:
    """Create user 'admin' with a one-time password when no user exists yet."""
    db = command.runtime.db
    if users.all_users(db):
        return
    password = users.one_time_password()
    users.add_user(db, "admin", "admin", [], password, must_change=True)
    click.echo(f"created user 'admin' with the one-time password: {password}\n"
               "  (you will be asked to choose a new one at the first login)")


@click.group("tokens")
def tokens_group() -> None:
    """API tokens (shown once, stored hashed)."""


@tokens_group.command("create")
@click.argument("name")
@click.option("--scope", type=click.Choice(TOKEN_SCOPES), default="read", show_default=True)
@click.option("--user", "owner", required=True,
              help="The user the token acts as (within its scope and the user's rights).")
@pass_command_context
def tokens_create(command: CommandContext, name: str, scope: str, owner: str) -> None:
    """Create a token; it is printed once, alone on the last line."""
    try:
        token = tokens.create_token(command.runtime.db, name, scope, owner)
    except tokens.TokenError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"token '{name}' with scope {scope}; keep it now, it is not shown again:")
    click.echo(token)


@tokens_group.command("list")
@pass_command_context
def tokens_list(command: CommandContext) -> None:
    """Every token: name, scope, owner, created, last used, revoked."""
    for token in tokens.all_tokens(command.runtime.db):
        when = [f"{t:%Y-%m-%d %H:%M}" if t else "-"
                for t in (token.created_at, token.last_used_at, token.revoked_at)]
        click.echo("\t".join([token.name, token.scope, token.user.username, *when]))


@tokens_group.command("revoke")
@click.argument("name")
@pass_command_context
def tokens_revoke(command: CommandContext, name: str) -> None:
    """Revoke a token; it stops working at once."""
    try:
        tokens.revoke_token(command.runtime.db, name)
    except tokens.TokenError as exc:
        raise click.ClickException(str(exc)) from exc
    _forget(command, credentialchanges.token_accounts(command.runtime.db, name))
    click.echo(f"token '{name}' revoked")

