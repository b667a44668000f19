"""History API speed: 100,000 builds (10 gate results each, approvals, promotions, audit) in
SQLite and in PostgreSQL; p50/p95 of the common API calls and their query plans.

Run: .venv/bin/python -m bench.history_api [--builds 100000]
Needs PostgreSQL on 127.0.0.1:5433 (devstack/postgres.py; started here if it does not answer)
and uses its own database `lockmaster_bench_history`. The API is called in process through the
Flask test client with anonymous reads, so each figure includes routing and JSON.
The last line is JSON: p95_ms_max (worst p95 over all calls and both databases) and the rest.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
import uuid
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:] = [str(ROOT)] + [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
# ruff: noqa: E402

import yaml
from sqlalchemy import create_engine, event, text

from app import create_app
from auth.tokens import create_token
from auth.users import add_user
from config import load_settings
from devstack.postgres import admin_url, postgres_service
from devstack.services import ServiceSet
from record.audit import AuditEvent
from record.checks import CheckRecord
from record.migrate import upgrade
from record.models import Build
from record.promotions import Approval, Promotion

REPOS = [f"acme/svc{n:02d}" for n in range(20)]
PUSHERS = [f"dev{n:02d}" for n in range(50)]
GATES = ["lint", "sbom", "vulnerabilities", "secrets", "size", "structure", "licenses",
         "probes", "tests", "versions"]
ROUNDS = 40
SMALL = 1000
PG_DATABASE = "lockmaster_bench_history"
START = datetime(2025, 1, 1)


def build_id(millis: int, n: int) -> str:
    """A version-7-style id for a build made at millis (n keeps ids of one ms apart)."""
    value = (millis << 80) | (0x7 << 76) | (n & 0xFFF) << 64 | (0x2 << 62) | n
    return str(uuid.UUID(int=value))


def rows(count: int) -> dict[str, list[dict]]:
    """The seed: builds, their gate results, approvals, promotions and audit events."""
    rng = random.Random(7)
    out = {"builds": [], "check_results": [], "promotions": [], "approvals": [],
           "audit_events": []}
    served: dict[str, str] = {}
    epoch = int((START - datetime(1970, 1, 1)).total_seconds() * 1000)
    for n in range(count):
        created = START + timedelta(seconds=n * 300)
        ident = build_id(epoch + n * 300_000, n)
        repo = REPOS[n % len(REPOS)]
        status = rng.choices(["staged", "failed", "rejected", "superseded"], [70, 15, 10, 5])[0]
        sha = f"{rng.getrandbits(160):040x}"
        digest = f"sha256:{rng.getrandbits(256):064x}" if status == "staged" else None
        out["builds"].append({
            "id": ident, "repository": repo, "provider": "github",
            "ref": rng.choice(["refs/heads/main"] * 6 + ["refs/heads/dev", "refs/tags/v1.2"]),
            "commit_sha": sha, "commit_message": f"change {n}", "commit_author": "Dev",
            "pusher": rng.choice(PUSHERS), "clone_url": f"https://git.example/{repo}.git",
            "dockerfile": "Dockerfile", "context": ".", "status": status,
            "image_repository": f"127.0.0.1:5000/staging/{repo}" if digest else None,
            "digest": digest, "tags": [sha[:12]] if digest else [], "size": 1000 + n,
            "history": [], "created_at": created, "started_at": created,
            "finished_at": created + timedelta(seconds=60),
            "stages": {"clone": 1.0, "build": 20.0, "gates": 5.0, "push": 2.0},
            "build_args": {}, "attempts": 1})
        for position, gate in enumerate(GATES):
            out["check_results"].append({
                "build_id": ident, "position": position, "name": gate, "test": None,
                "status": "pass" if status != "rejected" or position else "fail",
                "summary": f"{gate} ok", "details": {}, "duration_ms": 100 + position,
                "created_at": created})
        if digest and n % 10 == 0:
            _promote(out, n, ident, repo, digest, created, served)
    return out


def _promote(out: dict, n: int, ident: str, repo: str, digest: str, created: datetime,
             served: dict[str, str]) -> None:
    pid = len(out["promotions"]) + 1
    at = created + timedelta(minutes=30)
    out["promotions"].append({
        "id": pid, "request_key": f"{ident}:production:{digest}", "kind": "promotion",
        "build_id": ident, "image": repo, "digest": digest, "from_environment": "staging",
        "to_environment": "production", "status": "promoted", "tags": ["latest"],
        "actor": "carol", "reason": None, "replaced_digest": served.get(repo),
        "created_at": at, "started_at": at, "finished_at": at + timedelta(seconds=5)})
    served[repo] = digest
    out["approvals"].append({"promotion_id": pid, "username": "carol", "decision": "approve",
                             "digest": digest, "comment": "ok", "self_approval": False,
                             "via": "web", "at": at})
    for action in ("approve", "promotion"):
        out["audit_events"].append({"at": at, "actor": "carol", "action": action,
                                    "target": f"build {ident}", "outcome": "ok",
                                    "detail": None, "data": {"n": n}, "repository": repo})


TABLES = {"builds": Build.__table__, "check_results": CheckRecord.__table__,
          "promotions": Promotion.__table__, "approvals": Approval.__table__,
          "audit_events": AuditEvent.__table__}


def load(url: str, data: dict[str, list[dict]]) -> float:
    """Create the schema with the migrations and load the seed; returns the seconds taken."""
    started = time.monotonic()
    upgrade(url)
    engine = create_engine(url)
    if engine.dialect.name == "postgresql":
        _copy(engine, data)
    else:
        with engine.begin() as conn:
            for name, table in TABLES.items():
                for at in range(0, len(data[name]), 20_000):
                    conn.execute(table.insert(), data[name][at:at + 20_000])
    with engine.begin() as conn:
        conn.execute(text("ANALYZE"))
    engine.dispose()
    return time.monotonic() - started


def _copy(engine, data: dict[str, list[dict]]) -> None:
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        for name, items in data.items():
            columns = list(items[0])
            with cursor.copy(f"COPY {name} ({', '.join(columns)}) FROM STDIN") as copy:
                for item in items:
                    copy.write_row([json.dumps(v) if isinstance(v, dict | list) else v
                                    for v in (item[c] for c in columns)])
        raw.commit()
    finally:
        raw.close()


def make_app(url: str, workdir: Path, anonymous_read: bool = True):
    """The Lockmaster app over url, with anonymous reads (or not) and the seeded
    repositories."""
    config = workdir / f"lockmaster-{anonymous_read}.yml"
    config.write_text(yaml.safe_dump({"api": {"anonymous_read": anonymous_read}, "repositories": [
        {"name": r, "provider": "github", "secret_env": "BENCH_SECRET", "image": r,
         "clone_url": f"https://git.example/{r}.git"} for r in REPOS]}))
    settings = load_settings({"LOCKMASTER_DATA_DIR": str(workdir / "var"),
                              "LOCKMASTER_CONFIG": str(config),
                              "LOCKMASTER_REDIS_URL": "redis://127.0.0.1:6379/11",
                              "LOCKMASTER_DATABASE_URL": url})
    return create_app(settings)


def calls(data: dict[str, list[dict]]) -> dict:
    """The common API calls, each a function of a random generator giving a URL."""
    builds = data["builds"]
    staged = [b for b in builds if b["digest"]]
    promoted = [p["digest"] for p in data["promotions"]]
    deep = builds[len(builds) // 10]["id"]  # 90% of the way down the newest-first list
    return {
        "list": lambda r: "/api/v1/builds",
        "list repository": lambda r: f"/api/v1/builds?repository={r.choice(REPOS)}",
        "list status": lambda r: "/api/v1/builds?status=" + r.choice(["failed", "rejected"]),
        "list ref": lambda r: "/api/v1/builds?ref=" + r.choice(["dev", "v1.2", "main"]),
        "list sha": lambda r: f"/api/v1/builds?sha={r.choice(builds)['commit_sha'][:9]}",
        "list digest": lambda r: f"/api/v1/builds?digest={r.choice(staged)['digest'][:16]}",
        "list q": lambda r: f"/api/v1/builds?q=change+{r.randrange(1, 100)}",
        "list pusher": lambda r: f"/api/v1/builds?pusher={r.choice(PUSHERS)}",
        "list since/until": lambda r: "/api/v1/builds?since=2025-03-01T00:00:00Z"
                                      "&until=2025-03-08T00:00:00Z",
        "list combined": lambda r: f"/api/v1/builds?repository={r.choice(REPOS)}"
                                   f"&status=staged&pusher={r.choice(PUSHERS)}",
        "next page, deep": lambda r: f"/api/v1/builds?limit=50&next={deep}",
        "build detail": lambda r: f"/api/v1/builds/{r.choice(builds)['id']}",
        "lineage by digest": lambda r: f"/api/v1/images/{r.choice(promoted)}",
        "lineage, staging only": lambda r: f"/api/v1/images/{r.choice(staged)['digest']}",
        "environment timeline": lambda r: f"/api/v1/environments/production/{r.choice(REPOS)}",
        "commit": lambda r: f"/api/v1/commits/{r.choice(builds)['commit_sha'][:12]}",
        "audit by actor": lambda r: "/api/v1/audit?actor=carol&action=approve",
        # As a user scoped to half of the repositories (acme/svc0*), through a read token.
        "scoped: list": lambda r: "/api/v1/builds",
        "scoped: list status": lambda r: "/api/v1/builds?status=" + r.choice(["failed",
                                                                              "rejected"]),
        "scoped: next page, deep": lambda r: f"/api/v1/builds?limit=50&next={deep}",
        "scoped: build detail": lambda r: f"/api/v1/builds/{r.choice(builds)['id']}",
        "scoped: audit": lambda r: "/api/v1/audit?action=approve",
    }


class Callers:
    """Anonymous reads for the common calls; a developer scoped to acme/svc0* (10 of the 20
    repositories), through a read token on an app without anonymous reads, for `scoped:`."""

    def __init__(self, url: str, workdir: Path):
        self.open, self.closed = make_app(url, workdir), make_app(url, workdir, False)
        db = self.closed.extensions["lockmaster"].db
        add_user(db, "scoped", "developer", ["acme/svc0*"], "bench password, long")
        token = create_token(db, "scoped", "read", "scoped")
        self.headers = {"Authorization": f"Bearer {token}"}

    def of(self, name: str):
        """The app and headers of a call."""
        return (self.closed, self.headers) if name.startswith("scoped") else (self.open, {})

    def dispose(self) -> None:
        """Close both apps' connections."""
        for app in (self.open, self.closed):
            app.extensions["lockmaster"].db.engine.dispose()


def measure(callers: Callers, named: dict) -> dict[str, tuple[float, float]]:
    """p50 and p95 in ms of each call, after one warm-up call (a scoped build detail may be
    a 404: the build is of a repository out of scope)."""
    rng, figures = random.Random(1), {}
    for name, url_of in named.items():
        app, headers = callers.of(name)
        client = app.test_client()
        client.get(url_of(rng), headers=headers)
        times = []
        for _ in range(ROUNDS):
            url = url_of(rng)
            started = time.perf_counter()
            response = client.get(url, headers=headers)
            times.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200 or (headers and response.status_code == 404), \
                (url, response.get_data(as_text=True)[:300])
        times.sort()
        figures[name] = (statistics.median(times), times[int(len(times) * 0.95) - 1])
    return figures


def plans(callers: Callers, named: dict) -> dict[str, list[str]]:
    """The query plan of every SELECT each call runs: 'index' or the full scans it makes
    (scans of tables under SMALL rows, which a planner rightly prefers, are not counted)."""
    engine = callers.open.extensions["lockmaster"].db.engine
    with engine.connect() as conn:
        small = {name for name in conn.dialect.get_table_names(conn)
                 if conn.execute(text(f"SELECT count(*) FROM {name}")).scalar() < SMALL}
    rng, found = random.Random(2), {}
    for name, url_of in named.items():
        app, headers = callers.of(name)
        engine = app.extensions["lockmaster"].db.engine
        seen: list = []
        def listener(*args, seen=seen):
            seen.append((args[2], args[3]))

        event.listen(engine, "before_cursor_execute", listener)
        app.test_client().get(url_of(rng), headers=headers)
        event.remove(engine, "before_cursor_execute", listener)
        found[name] = [_scans(engine, sql, params, small) for sql, params in seen
                       if sql.lstrip().upper().startswith("SELECT")]
    return found


def _scans(engine, sql: str, params, small: set[str]) -> str:
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        if engine.dialect.name == "postgresql":
            cursor.execute("EXPLAIN " + sql, params)
            lines = [row[0] for row in cursor.fetchall()]
            full = [line.strip().split("  (")[0] for line in lines if "Seq Scan on" in line
                    and line.split("Seq Scan on ")[1].split()[0] not in small]
        else:
            cursor.execute("EXPLAIN QUERY PLAN " + sql, params)
            lines = [row[-1] for row in cursor.fetchall()]
            # An FTS5 table answering MATCH (":M" in its plan) is read through its own index.
            full = [line for line in lines if line.startswith("SCAN ") and "USING" not in line
                    and ":M" not in line and line.split()[1] not in small]
        return "; ".join(full) if full else "index"
    finally:
        raw.close()


def postgres_url() -> tuple[str, ServiceSet]:
    """A fresh database of the bench's own on the devstack PostgreSQL server."""
    server = ServiceSet(ROOT / "var")
    server.ensure([postgres_service()])
    engine = create_engine(admin_url(), isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{PG_DATABASE}"'))
        conn.execute(text(f'CREATE DATABASE "{PG_DATABASE}"'))
    engine.dispose()
    return admin_url(PG_DATABASE), server


def run(url: str, data: dict, workdir: Path) -> tuple[float, dict, dict]:
    seconds = load(url, data)
    callers = Callers(url, workdir)
    named = {"baseline: repositories (no query)": lambda r: "/api/v1/repositories",
             **calls(data)}
    figures, found = measure(callers, named), plans(callers, named)
    callers.dispose()
    return seconds, figures, found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--builds", type=int, default=100_000)
    count = parser.parse_args().builds
    started = time.monotonic()
    data = rows(count)
    print(f"seed: {count} builds, {len(data['check_results'])} gate results, "
          f"{len(data['promotions'])} promotions, {len(data['approvals'])} approvals, "
          f"{len(data['audit_events'])} audit events (made in {time.monotonic() - started:.1f}s)")
    results = {}
    with tempfile.TemporaryDirectory(prefix="lockmaster-bench-history-") as tmp:
        for name in ("sqlite", "postgresql"):
            workdir = Path(tmp) / name
            workdir.mkdir()
            if name == "sqlite":
                results[name] = run(f"sqlite:///{workdir}/history.db", data, workdir)
            else:
                url, server = postgres_url()  # started here if no one else runs it now
                try:
                    results[name] = run(url, data, workdir)
                finally:
                    server.stop()
            print(f"{name}: loaded in {results[name][0]:.1f}s")
    _table(results)
    worst = max(p95 for _s, figures, _p in results.values()
                for call, (_p50, p95) in figures.items() if not call.startswith("baseline"))
    scans = sum(plan != "index" for _s, _f, found in results.values()
                for steps in found.values() for plan in steps)
    print(json.dumps({"p95_ms_max": round(worst, 2), "target_p95_ms": 50, "builds": count,
                      "full_scans": scans,
                      **{f"{db}_p95_ms": {c: round(p95, 2) for c, (_m, p95) in f.items()}
                         for db, (_s, f, _p) in results.items()}}))


def _table(results: dict) -> None:
    sqlite, postgres = results["sqlite"], results["postgresql"]
    base = {db: figures["baseline: repositories (no query)"][1]
            for db, (_s, figures, _p) in results.items()}
    print(f"\n{'call':36} {'sqlite p50':>10} {'p95':>7} {'x base':>7} {'pg p50':>8} {'p95':>7} "
          f"{'x base':>7}  plans (sqlite | postgresql)")
    for call in sqlite[1]:
        (s50, s95), (p50, p95) = sqlite[1][call], postgres[1][call]
        plan = f"{_plan(sqlite[2][call])} | {_plan(postgres[2][call])}"
        print(f"{call:36} {s50:10.2f} {s95:7.2f} {s95 / base['sqlite']:7.1f} {p50:8.2f} "
              f"{p95:7.2f} {p95 / base['postgresql']:7.1f}  {plan}")
    print()


def _plan(steps: list[str]) -> str:
    if not steps:
        return "no query"
    scans = [s for s in steps if s != "index"]
    return f"{len(steps)} queries, all index" if not scans else "FULL SCAN: " + "; ".join(scans)


if __name__ == "__main__":
    main()
