"""Which image-signing keys Lockmaster trusts: the record's active key and its retired ones."""

from __future__ import annotations

from pathlib import Path

from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from config import Settings
from provenance import keys
from provenance.keys import ImageSigner, SigningKeyError
from record.db import Database
from record.models import utcnow
from record.signing_keys import SigningKeyRecord
from states import SigningKeyStatus


def all_keys(db: Database) -> list[SigningKeyRecord]:
    """Every key, the active one first, then retired ones newest first."""
    with db.session() as session:
        rows = list(session.scalars(select(SigningKeyRecord)
                                    .order_by(SigningKeyRecord.created_at.desc())))
    return sorted(rows, key=lambda row: row.status != SigningKeyStatus.ACTIVE)


def trusted_keys(db: Database) -> dict[str, ec.EllipticCurvePublicKey]:
    """Key id → public key, for every key that ever signed (retired keys still verify)."""
    return {row.key_id: keys.load_public(row.public_pem) for row in all_keys(db)}


def worker_signer(settings: Settings, db: Database) -> ImageSigner:
    """This worker's key, made and recorded as active on first use; SigningKeyError if the
    record's active key is another one (hosts share one key, or they do not sign)."""
    path = settings.signing.key_path(settings.data_dir)
    active = _active(db)
    if active is None:
        active = _record_first(db, keys.load_or_create(path))
    elif not path.exists():
        raise SigningKeyError(f"this worker has no image-signing key at {path}: copy the active "
                              f"key {active.key_id[:16]} there (or set signing.key_file)")
    signer = keys.load(path)
    if active is None or active.key_id != signer.key_id:
        raise SigningKeyError(
            f"this worker's image-signing key {signer.key_id[:16]} is not the active key "
            f"{active.key_id[:16] if active else '(none)'}: copy the active key file to "
            f"{path} (or signing.key_file) on this host")
    return signer


def _record_first(db: Database, signer: ImageSigner) -> SigningKeyRecord | None:
    """Record signer's key as the active one while none is; the active key afterwards. Of two
    hosts doing so at once, the database's one-active-key index lets exactly one win."""
    try:
        with db.session() as session:
            if session.get(SigningKeyRecord, signer.key_id) is None:
                session.add(SigningKeyRecord(key_id=signer.key_id,
                                             public_pem=signer.public_pem,
                                             status=SigningKeyStatus.ACTIVE))
    except IntegrityError:  # another host's key (or this same key, shared) came first
        pass
    return _active(db)


def _active(db: Database) -> SigningKeyRecord | None:
    with db.session() as session:
        return session.scalars(select(SigningKeyRecord)
                               .where(SigningKeyRecord.status == SigningKeyStatus.ACTIVE)).first()


def rotate(settings: Settings, db: Database) -> ImageSigner:
    """A new active key at the key path; the old one stays trusted for verification."""
    path: Path = settings.signing.key_path(settings.data_dir)
    signer = keys.replace(path)
    with db.session() as session:
        for row in session.scalars(select(SigningKeyRecord).where(
                SigningKeyRecord.status == SigningKeyStatus.ACTIVE)):
            row.status, row.retired_at = SigningKeyStatus.RETIRED, utcnow()
        session.add(SigningKeyRecord(key_id=signer.key_id, public_pem=signer.public_pem,
                                     status=SigningKeyStatus.ACTIVE))
    return signer
