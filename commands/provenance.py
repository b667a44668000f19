"""`lockmaster signing-keys`, `verify`, `sign --backfill` and `allow-unsigned`."""

from __future__ import annotations

from pathlib import Path

import click

from bootstrap import CommandContext, pass_command_context


@click.command("signing-keys")
@click.option("--rotate", is_flag=True, help="Make a new active key (run it on a worker host; "
              "copy the new key file to the other worker hosts).")
@pass_command_context
def signing_keys(command: CommandContext, rotate: bool) -> None:
    """The image-signing public keys (PEM), active first; --rotate makes a new active key."""
    from provenance import keystore

    runtime = command.runtime
    if rotate:
        signer = keystore.rotate(runtime.settings, runtime.db)
        click.echo(f"new active key {signer.key_id} at "
                   f"{runtime.settings.signing.key_path(runtime.settings.data_dir)}; older "
                   "keys stay trusted for verification")
    for row in keystore.all_keys(runtime.db):
        click.echo(f"# {row.key_id} {row.status} since {row.created_at:%Y-%m-%d %H:%M}")
        click.echo(row.public_pem.rstrip())


@click.command("verify")
@click.argument("image")
@click.option("--key", "key_file", type=click.Path(exists=True, dir_okay=False),
              help="Verify with this PEM public key instead of the record's keys.")
@click.option("--layout", type=click.Path(exists=True, file_okay=False),
              help="Read the proofs from this OCI image layout (offline).")
@pass_command_context
def verify(command: CommandContext, image: str, key_file: str | None, layout: str | None) -> None:
    """Verify IMAGE@DIGEST's signature, provenance and SBOM attestation; exit 1 on failure."""
    from provenance.verify import ProofError

    reference, _, digest = image.partition("@")
    if not digest.startswith("sha256:") or not reference:
        raise click.ClickException("give the image as REPOSITORY@sha256:<digest>, e.g. "
                                   "127.0.0.1:5000/production/acme/web@sha256:…")
    try:
        lines = _verify(command.runtime, reference, digest, key_file, layout)
    except ProofError as exc:
        raise click.ClickException(f"NOT VERIFIED: {exc}") from exc
    for line in lines:
        click.echo(f"ok  {line}")
    click.echo(f"verified {reference}@{digest}")


def _verify(runtime, reference: str, digest: str, key_file: str | None,
            layout: str | None) -> list[str]:
    from distribution.client import RegistryClient, RegistryError
    from provenance import keys
    from provenance.sources import LayoutSource, RegistrySource
    from provenance.verify import ProofError, verify_image
    from registry.access import registry_client

    try:
        trusted = _trusted_keys(runtime) if key_file is None else \
            {"--key": keys.load_public(Path(key_file).read_bytes())}
        if layout:
            source = LayoutSource(Path(layout))
        else:
            host, _, name = reference.partition("/")
            registry = runtime.settings.registry
            client = registry_client(runtime, "promoter") if host == registry.url else \
                RegistryClient(f"{'http' if registry.insecure else 'https'}://{host}")
            source = RegistrySource(client, name)
        build, unread = _build_of(runtime, digest)
        expected = _expected(runtime, build, reference, digest)
        done = verify_image(source, trusted, expected)
    except (keys.SigningKeyError, RegistryError) as exc:
        raise ProofError(str(exc)) from exc
    return [*done.lines, _record_line(build, expected, unread)]


def _expected(runtime, build, reference: str, digest: str):
    from promotion.proofs import expected_for
    from provenance.verify import Expected

    if build is None:
        return Expected(reference, digest, runtime.settings.signing.builder_id)
    return expected_for(runtime, build, reference, digest)


def _record_line(build, expected, unread: str | None) -> str:
    """What the proofs were compared with in Lockmaster's records."""
    if unread:
        return f"record: the build records cannot be read here ({unread}); provenance not compared"
    if build is None:
        return "record: no build of this digest here; provenance not compared"
    sbom = "the SBOM equals the recorded one" if expected.sbom is not None else \
        "no SBOM was recorded and none is attested"
    return f"record: commit {build.commit_sha} is build {build.id}'s; {sbom}"


def _trusted_keys(runtime) -> dict:
    from sqlalchemy.exc import SQLAlchemyError

    from provenance import keystore
    from provenance.verify import ProofError

    unread = _missing_records(runtime)
    if unread is None:
        try:
            return keystore.trusted_keys(runtime.db)
        except SQLAlchemyError as exc:
            unread = _first_line(exc)
    raise ProofError(f"the trusted keys are in Lockmaster's records, which cannot be read here "
                     f"({unread}): give the public key with --key")


def _build_of(runtime, digest: str):
    """(the newest build of digest or None, why the records could not be read or None)."""
    from sqlalchemy import select
    from sqlalchemy.exc import SQLAlchemyError

    from record.models import Build

    unread = _missing_records(runtime)
    if unread is not None:
        return None, unread
    try:
        with runtime.db.session() as session:
            return session.scalars(select(Build).where(Build.digest == digest)
                                   .order_by(Build.id.desc())).first(), None
    except SQLAlchemyError as exc:  # a deploy host with the key but not the database
        return None, _first_line(exc)


def _missing_records(runtime) -> str | None:
    """Why there are no records to read here, without making an empty SQLite file for them."""
    url = runtime.settings.database_url
    if url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).exists():
        return f"no Lockmaster database at {url.removeprefix('sqlite:///')}"
    return None


def _first_line(exc: Exception) -> str:
    return str(getattr(exc, "orig", None) or exc).splitlines()[0]


@click.command("sign")
@click.option("--backfill", is_flag=True, required=True,
              help="Sign staged and promoted digests made before images were signed.")
@click.option("--repository", help="Only this source repository (owner/name).")
@pass_command_context
def sign(command: CommandContext, backfill: bool, repository: str | None) -> None:
    """Sign and attest, after the fact, every digest whose build record is complete."""
    from builder.backfill import backfill as run_backfill

    lines = run_backfill(command.runtime, repository)
    for line in lines:
        click.echo(line)
    click.echo(f"{sum(line.startswith('signed') for line in lines)} image(s) signed")


@click.command("allow-unsigned")
@click.argument("build_id")
@click.option("--admin", required=True, help="The admin taking responsibility.")
@click.option("--reason", required=True, help="Why this digest may go without proofs.")
@pass_command_context
def allow_unsigned(command: CommandContext, build_id: str, admin: str, reason: str) -> None:
    """Let an admin's override promote a build's unsigned digest (audited)."""
    from builder.backfill import allow_unsigned as record_override

    try:
        record_override(command.runtime, build_id, admin, reason)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"build {build_id} may be promoted without proofs (override by {admin})")

