"""Worker hosts and the one active image-signing key: a worker holding a retired key refuses
to stage a real build, and two fresh hosts with different keys cannot both become active."""

import shutil
import threading
from datetime import datetime
from pathlib import Path

import pytest
from alembic import command

from config import load_settings
from devstack.services import REGISTRY_ADDR
from distribution.client import RegistryClient
from provenance import formats, keys, keystore
from provenance.keys import SigningKeyError
from record.db import Database
from record.migrate import alembic_config, upgrade
from record.signing_keys import SigningKeyRecord
from tests.support.buildhelpers import build_of, push
from tests.support.stack import repo_entry, work

REGISTRY = RegistryClient(f"http://{REGISTRY_ADDR}")


def test_a_worker_with_a_retired_key_refuses_to_stage_a_real_build(
        make_app, source_repo, secret, tmp_path, registry_prefix):
    app = make_app([repo_entry(source_repo)])
    runtime = app.extensions["lockmaster"]
    keystore.worker_signer(runtime.settings, runtime.db)  # the first host's key, active
    key_file = runtime.settings.signing.key_path(runtime.settings.data_dir)
    stale_copy = tmp_path / "stale-host.key"
    shutil.copy(key_file, stale_copy)
    keystore.rotate(runtime.settings, runtime.db)  # the stale host was not given the new key
    stale_host = make_app([repo_entry(source_repo)], signing={"key_file": str(stale_copy)})

    build_id = push(stale_host.test_client(), source_repo, secret)
    work(stale_host)  # its worker takes the build

    build = build_of(stale_host.test_client(), build_id)
    assert (build["status"], build["failed_stage"]) == ("failed", "push"), build
    assert "is not the active key" in build["error"]
    assert "copy the active key file" in build["error"]
    assert build["image"] is None and not build["proof"]
    staging = f"{registry_prefix}/staging/acme/web"
    assert REGISTRY.tags(staging) == []  # nothing pushed: no image, no .sig, no .att
    assert not any(formats.is_proof_tag(tag) for tag in REGISTRY.tags(staging))


def test_two_fresh_hosts_with_different_keys_cannot_both_become_active(
        tmp_path, database_url, monkeypatch):
    upgrade(database_url)
    hosts = [_host(tmp_path / name, database_url) for name in ("host-a", "host-b")]
    both_looked = threading.Barrier(2, timeout=30)
    load_or_create = keys.load_or_create

    def after_both_found_no_active_key(path):
        both_looked.wait()  # each host saw no active key before either records its own
        return load_or_create(path)

    monkeypatch.setattr(keys, "load_or_create", after_both_found_no_active_key)
    outcomes: dict[str, object] = {}

    def first_use(name, settings, db):
        try:
            outcomes[name] = keystore.worker_signer(settings, db).key_id
        except SigningKeyError as exc:
            outcomes[name] = exc

    threads = [threading.Thread(target=first_use, args=(f"host-{i}", *host), name=f"host-{i}")
               for i, host in enumerate(hosts)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    winners = [v for v in outcomes.values() if isinstance(v, str)]
    losers = [v for v in outcomes.values() if isinstance(v, SigningKeyError)]
    assert len(winners) == 1 and len(losers) == 1, outcomes
    assert "is not the active key" in str(losers[0]) and winners[0][:16] in str(losers[0])
    with hosts[0][1].session() as session:
        rows = session.query(SigningKeyRecord).all()
    assert [(row.key_id, row.status) for row in rows] == [(winners[0], "active")]
    monkeypatch.undo()
    for settings, db in hosts:  # later builds: the winner signs, the other keeps refusing
        own = keys.load(settings.signing.key_path(settings.data_dir)).key_id
        if own == winners[0]:
            assert keystore.worker_signer(settings, db).key_id == own
        else:
            with pytest.raises(SigningKeyError, match="is not the active key"):
                keystore.worker_signer(settings, db)
    for _settings, db in hosts:
        db.engine.dispose()


def _host(folder: Path, database_url: str):
    """One worker host's settings (its own data dir, so its own key) and database handle."""
    config = folder / "lockmaster.yml"
    folder.mkdir(parents=True)
    config.write_text("registry: {url: 127.0.0.1:5000, insecure: true}\nrepositories: []\n")
    settings = load_settings({"LOCKMASTER_DATA_DIR": str(folder / "var"),
                              "LOCKMASTER_CONFIG": str(config),
                              "LOCKMASTER_DATABASE_URL": database_url})
    return settings, Database(database_url)


def test_the_migration_keeps_the_first_of_keys_that_both_became_active(database_url):
    upgrade(database_url)
    config = alembic_config(database_url)
    command.downgrade(config, "0018-1")  # before the one-active-key index
    db = Database(database_url)
    with db.session() as session:
        for key_id, created in (("b" * 64, datetime(2026, 1, 2)), ("a" * 64, datetime(2026, 1, 1))):
            session.add(SigningKeyRecord(key_id=key_id, public_pem="-", status="active",
                                         created_at=created))
    upgrade(database_url)
    with db.session() as session:
        rows = {row.key_id: row.status for row in session.query(SigningKeyRecord)}
    db.engine.dispose()
    assert rows == {"a" * 64: "active", "b" * 64: "retired"}
