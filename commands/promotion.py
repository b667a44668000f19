"""`lockmaster approve BUILD`: decide through the API with your own token."""

from __future__ import annotations

import os

import click
import requests


@click.command("approve")
@click.argument("build_id")
@click.option("--reject", is_flag=True, help="Reject instead of approving.")
@click.option("--comment", default="", help="Why.")
@click.option("--digest", default=None, help="The digest you reviewed (default: the build's).")
@click.option("--url", default=lambda: os.environ.get("LOCKMASTER_URL", "http://127.0.0.1:8000"),
              show_default="$LOCKMASTER_URL or http://127.0.0.1:8000")
def approve(build_id: str, reject: bool, comment: str, digest: str | None, url: str) -> None:
    """Approve (or --reject) a staged build, as the owner of $LOCKMASTER_TOKEN."""
    token = os.environ.get("LOCKMASTER_TOKEN")
    if not token:
        raise click.ClickException("set LOCKMASTER_TOKEN to your API token (scope approve); an "
                                   "admin creates it with `lockmaster tokens create NAME "
                                   "--scope approve --user YOU`")
    body = {"decision": "reject" if reject else "approve", "comment": comment}
    if digest:
        body["digest"] = digest
    try:
        response = requests.post(f"{url.rstrip('/')}/api/v1/builds/{build_id}/approvals",
                                 json=body, headers={"Authorization": f"Bearer {token}"},
                                 timeout=30)
    except requests.RequestException as exc:
        raise click.ClickException(f"Lockmaster at {url} did not answer: {exc}") from exc
    answer = response.json() if response.headers.get("Content-Type", "").startswith(
        "application/json") else {"error": response.text[:200]}
    if response.status_code != 201:
        raise click.ClickException(f"refused ({response.status_code}): {answer.get('error')}")
    click.echo(f"{body['decision']} recorded: {answer['approvals']} of {answer['needed']} "
               f"approvals; promotion {answer['promotion_id']} is {answer['status']}")
