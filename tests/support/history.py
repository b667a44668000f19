"""Builds written straight into the record, for tests of what the history API reads."""

from record.models import Build, utcnow


def seed(app, count: int, **fields) -> list[str]:
    """Record count finished builds straight in the database; returns their ids, oldest first."""
    rows = []
    for n in range(count):
        values = {"repository": "acme/web", "provider": "github", "ref": "refs/heads/main",
                  "commit_sha": f"{n:07x}" + "a" * 33, "pusher": "bob", "status": "staged",
                  "clone_url": "/nowhere", "dockerfile": "Dockerfile", "context": ".",
                  "created_at": utcnow(), **fields}
        rows.append(Build(**{k: (v(n) if callable(v) else v) for k, v in values.items()}))
    with app.extensions["lockmaster"].db.session() as session:
        for row in rows:
            session.add(row)
            session.flush()
        return [row.id for row in rows]
