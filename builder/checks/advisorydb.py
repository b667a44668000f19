"""The offline OSV advisory database: importing exports and finding records by package."""

from __future__ import annotations

import json
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import delete, select, tuple_

from builder.checks.osv import normalize_name
from record.checks import Advisory, AdvisoryPackage
from record.db import Database


class AdvisoryImportError(Exception):
    """An OSV export that cannot be read; the message names the file."""


@dataclass(frozen=True)
class ImportReport:
    """How many records an import added and updated."""

    added: int
    updated: int


def read_records(path: Path) -> Iterator[tuple[str, dict]]:
    """(file name, OSV record) for every JSON file of a folder or a zip file."""
    if path.is_dir():
        for file in sorted(path.rglob("*.json")):
            yield str(file), _parse(str(file), file.read_bytes())
    elif zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as archive:
            for name in sorted(n for n in archive.namelist() if n.endswith(".json")):
                yield f"{path}:{name}", _parse(f"{path}:{name}", archive.read(name))
    else:
        raise AdvisoryImportError(f"{path} is neither a folder nor a zip file of OSV JSON records")


def _parse(name: str, raw: bytes) -> dict:
    try:
        record = json.loads(raw)
    except ValueError as exc:
        raise AdvisoryImportError(f"{name} is not valid JSON: {exc}") from exc
    if not isinstance(record, dict) or not isinstance(record.get("id"), str):
        raise AdvisoryImportError(f"{name} is not an OSV record (it has no 'id')")
    return record


def import_advisories(db: Database, path: Path) -> ImportReport:
    """Load every record at path; a record already present is replaced (re-import updates)."""
    records = dict((r["id"], r) for _name, r in read_records(path))
    added = updated = 0
    with db.session() as session:
        for advisory_id, record in records.items():
            existing = session.get(Advisory, advisory_id)
            if existing is None:
                session.add(Advisory(id=advisory_id, modified=record.get("modified"),
                                     record=record))
                added += 1
            else:
                existing.record, existing.modified = record, record.get("modified")
                updated += 1
            session.execute(delete(AdvisoryPackage)
                            .where(AdvisoryPackage.advisory_id == advisory_id))
            session.flush()
            session.add_all(AdvisoryPackage(advisory_id=advisory_id, ecosystem=eco, name=name)
                            for eco, name in _packages(record))
    return ImportReport(added, updated)


def _packages(record: dict) -> set[tuple[str, str]]:
    named = set()
    for affected in record.get("affected", []):
        package = affected.get("package") or {}
        ecosystem = package.get("ecosystem", "").partition(":")[0]
        if ecosystem and package.get("name"):
            named.add((ecosystem, normalize_name(ecosystem, package["name"])))
    return named


def records_for(db: Database, names: Iterable[tuple[str, str]]) -> list[dict]:
    """The records that name any of these (ecosystem, package name) pairs."""
    wanted = sorted({(eco, normalize_name(eco, name)) for eco, name in names})
    if not wanted:
        return []
    with db.session() as session:
        ids = select(AdvisoryPackage.advisory_id).where(
            tuple_(AdvisoryPackage.ecosystem, AdvisoryPackage.name).in_(wanted))
        return [a.record for a in session.scalars(select(Advisory).where(Advisory.id.in_(ids)))]
