"""The installation's layer results in the lineage database, pruned by `lockmaster gc`."""

from __future__ import annotations

import contextlib
from datetime import timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError

from record.checks import LayerResult
from record.db import Database
from record.models import utcnow

# A row read again within this long keeps its used_at (saves a write per layer per build).
TOUCH_AFTER = timedelta(hours=1)


class DatabaseLayerCache:
    """The installation's layer results, in the lineage database (pruned by `lockmaster gc`)."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def get(self, kind: str, diff_ids: list[str]) -> dict[str, dict]:
        """The known results of these layers, by diff_id; marks them used."""
        with self.db.session() as session:
            rows = session.scalars(select(LayerResult).where(
                LayerResult.kind == kind, LayerResult.diff_id.in_(set(diff_ids)))).all()
            stale = [r.diff_id for r in rows if r.used_at < utcnow() - TOUCH_AFTER]
            if stale:
                session.execute(update(LayerResult).where(
                    LayerResult.kind == kind, LayerResult.diff_id.in_(stale))
                    .values(used_at=utcnow()))
            return {r.diff_id: r.result for r in rows}

    def put(self, kind: str, diff_id: str, result: dict) -> None:
        """Remember one layer's result (a concurrent build may have stored the same one)."""
        with contextlib.suppress(IntegrityError), self.db.session() as session:
            row = session.get(LayerResult, (diff_id, kind))
            if row is None:
                session.add(LayerResult(diff_id=diff_id, kind=kind, result=result))
            else:
                row.result, row.used_at = result, utcnow()


def prune(db: Database, keep: int, dry_run: bool = False) -> list[str]:
    """Forget all but the `keep` most recently used layer results; returns what goes."""
    with db.session() as session:
        old = session.execute(select(LayerResult.diff_id, LayerResult.kind)
                              .order_by(LayerResult.used_at.desc(), LayerResult.diff_id)
                              .offset(keep)).all()
        if not dry_run:
            for diff_id, kind in old:
                session.execute(delete(LayerResult).where(LayerResult.diff_id == diff_id,
                                                          LayerResult.kind == kind))
    return [f"{diff_id} {kind}" for diff_id, kind in old]
