"""Webhook intake under load: Lockmaster's /webhooks/github against a bare Flask endpoint.

Both run under gunicorn with the settings `make run` uses (`lockmaster web`: 2 threaded workers
of 32 threads on 127.0.0.1, ops/gunicorn_conf.py), Lockmaster with the recorder a worker runs
beside it; N signed GitHub push deliveries for distinct commits are fired at concurrency C
from another process, in rounds alternating between the two servers. Prints a table; the last
line is JSON with `ratio` and `p99_ms` (of the median rounds) and how long the recorder took to
write every delivery.

    .venv/bin/python -m bench.webhook_intake [--n N] [--rounds R]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SECRET_ENV = "LOCKMASTER_BENCH_SECRET"
from webhooks.recorder import NICENESS  # noqa: E402


def fire(port: int, n: int, concurrency: int, secret: str) -> dict:
    """Send n signed deliveries for distinct commits; returns throughput and latencies.

    Each delivery is a new connection, as a Git host makes. The requests are built before the
    clock starts and sent over plain sockets: the sender shares the machine's cores with the
    server, so the less CPU it spends per request, the more the figures are the server's own
    (http.client took about as much CPU per request as the bare endpoint's whole server)."""
    from devstack.gitpush import signed_headers

    requests = []
    for i in range(n):
        sha = uuid.uuid4().hex + f"{i:08x}"
        body = json.dumps({"ref": "refs/heads/main", "after": sha, "deleted": False,
                           "repository": {"full_name": "bench/web",
                                          "html_url": "https://example.com/bench/web"},
                           "pusher": {"name": "bench"},
                           "head_commit": {"id": sha, "message": f"commit {i}",
                                           "author": {"name": "Bench"}}}).encode()
        headers = {"Host": f"127.0.0.1:{port}", **signed_headers(body, secret),
                   "Content-Length": str(len(body)), "Connection": "close"}
        head = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
        requests.append(f"POST /webhooks/github HTTP/1.1\r\n{head}\r\n".encode() + body)
    latencies, statuses, lock = [], {}, threading.Lock()
    cursor = iter(requests)

    def worker():
        while True:
            with lock:
                request = next(cursor, None)
            if request is None:
                return
            started = time.perf_counter()
            status = exchange(port, request)
            elapsed = time.perf_counter() - started
            with lock:
                latencies.append(elapsed)
                statuses[status] = statuses.get(status, 0) + 1

    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - started
    latencies.sort()
    return {"per_s": n / wall, "p50_ms": 1000 * statistics.median(latencies),
            "p90_ms": 1000 * latencies[int(0.90 * (len(latencies) - 1))],
            "p99_ms": 1000 * latencies[int(0.99 * (len(latencies) - 1))],
            "max_ms": 1000 * latencies[-1], "statuses": statuses}


def exchange(port: int, request: bytes) -> int:
    """Send one request on a new connection and read the whole answer (the server closes the
    connection after it); the answer's HTTP status, or 0 if there was none."""
    with socket.create_connection(("127.0.0.1", port), timeout=60) as conn:
        conn.sendall(request)
        answer = b""
        while chunk := conn.recv(65536):
            answer += chunk
    try:
        return int(answer.split(b" ", 2)[1])
    except (IndexError, ValueError):
        return 0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def serve(argv: list[str], env: dict, nice: int = 0) -> subprocess.Popen:
    return subprocess.Popen(argv, cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, preexec_fn=lambda: os.nice(nice))


def wait_for_port(port: int) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/healthz")
            conn.getresponse()
            return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"nothing answered on port {port} within 30s")


def _fire(port: int, env: dict, n: int, concurrency: int, secret: str) -> dict:
    """One round: n deliveries from another process."""
    out = subprocess.run(
        [sys.executable, __file__, "--fire", str(port), "--n", str(n),
         "--concurrency", str(concurrency)],
        env={**env, SECRET_ENV: secret}, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def _rounds(servers: dict, env: dict, args, secret: str, recorded) -> dict[str, list[dict]]:
    """Alternate rounds between the servers (the machine's noise hits both alike); after each
    Lockmaster round, wait until the recorder has written its deliveries."""
    results: dict[str, list[dict]] = {name: [] for name in servers}
    for _round in range(args.rounds):
        for name, port in servers.items():
            result = _fire(port, env, args.n, args.concurrency, secret)
            if name == "lockmaster":
                started = time.perf_counter()
                result["builds_recorded"] = recorded()
                result["recorded_after_s"] = time.perf_counter() - started
            results[name].append(result)
    return results


def wait_redis(url: str) -> None:
    from redis import Redis
    from redis.exceptions import ConnectionError as RedisDown

    deadline = time.monotonic() + 30
    while True:
        try:
            Redis.from_url(url).ping()
            return
        except RedisDown:
            if time.monotonic() > deadline:
                raise SystemExit(f"redis-server at {url} did not answer within 30s") from None
            time.sleep(0.1)


def _recorded(redis_url: str, database_url: str, timeout: float = 300) -> int:
    """Wait until the recorder has written every admitted delivery; the builds in the database."""
    from redis import Redis
    from sqlalchemy import create_engine, text

    from webhooks.intake_stream import STREAM

    redis, deadline = Redis.from_url(redis_url), time.monotonic() + timeout
    while redis.xlen(STREAM) and time.monotonic() < deadline:
        time.sleep(0.05)
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            return connection.execute(text("SELECT count(*) FROM builds")).scalar_one()
    finally:
        engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds per server")
    parser.add_argument("--database-url", help="an empty database (default: a new SQLite file)")
    parser.add_argument("--fire", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.fire:
        print(json.dumps(fire(args.fire, args.n, args.concurrency, os.environ[SECRET_ENV])))
        return

    from record.migrate import upgrade

    secret = uuid.uuid4().hex
    with tempfile.TemporaryDirectory(prefix="lockmaster-bench-") as tmp:
        config = Path(tmp) / "lockmaster.yml"
        config.write_text(
            "repositories:\n  - name: bench/web\n    provider: github\n"
            f"    secret_env: {SECRET_ENV}\n    clone_url: /srv/git/bench/web.git\n")
        database_url = args.database_url or f"sqlite:///{tmp}/lockmaster.db"
        # A Redis of its own, as `make run` starts one (AOF on): a shared one adds others' load.
        redis_port = free_port()
        redis_url = f"redis://127.0.0.1:{redis_port}/0"
        redis_server = subprocess.Popen(
            [shutil.which("redis-server") or "/usr/bin/redis-server", "--bind", "127.0.0.1",
             "--port", str(redis_port), "--dir", tmp, "--appendonly", "yes", "--save", ""],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        env = {**os.environ, "LOCKMASTER_CONFIG": str(config), "LOCKMASTER_DATA_DIR": tmp,
               "LOCKMASTER_REDIS_URL": redis_url, "LOCKMASTER_DATABASE_URL": database_url,
               SECRET_ENV: secret, "LOCKMASTER_LOG_LEVEL": "WARNING"}
        upgrade(database_url)
        wait_redis(redis_url)
        ports = {"lockmaster": free_port(), "bare": free_port()}
        gunicorn = str(Path(sys.executable).parent / "gunicorn")
        processes = [
            serve([sys.executable, "app.py", "web", "--port", str(ports["lockmaster"])], env),
            # What each worker runs beside it, at the priority it gives it.
            serve([sys.executable, "app.py", "recorder"], env, nice=NICENESS),
            serve([gunicorn, "--bind", f"127.0.0.1:{ports['bare']}", "--workers", "2",
                    *_server_settings(), "--access-logfile", "-", "bench.bare_app:create_app()"],
                   env)]
        try:
            for port in ports.values():
                wait_for_port(port)
            results = _rounds(ports, env, args, secret,
                              lambda: _recorded(redis_url, database_url))
        finally:
            for process in [*processes, redis_server]:
                process.terminate()
                process.wait(timeout=30)
    _report(results, args)


def _server_settings() -> list[str]:
    """The worker class and threads `lockmaster web` runs with, for the bare endpoint too."""
    from ops import gunicorn_conf as conf

    return ["--worker-class", conf.worker_class, "--threads", str(conf.threads),
            "--worker-connections", str(conf.worker_connections),
            "--keep-alive", str(conf.keepalive)]


def _median_round(rounds: list[dict]) -> dict:
    return sorted(rounds, key=lambda r: r["per_s"])[len(rounds) // 2]


def _report(results: dict[str, list[dict]], args) -> None:
    database = (args.database_url or "sqlite").split(":", 1)[0]
    print(f"{args.rounds} alternating rounds of {args.n} signed GitHub push deliveries, "
          f"concurrency {args.concurrency}, gunicorn 2 workers {' '.join(_server_settings())} "
          "on 127.0.0.1, "
          f"database {database}")
    print(f"{'round':<8}{'endpoint':<22}{'deliveries/s':>14}{'p50 ms':>10}{'p90 ms':>10}"
          f"{'p99 ms':>10}{'max ms':>10}  statuses")
    for number in range(args.rounds):
        for name in ("lockmaster", "bare"):
            result = results[name][number]
            print(f"{number + 1:<8}{name:<22}{result['per_s']:>14.1f}"
                  f"{result['p50_ms']:>10.1f}{result['p90_ms']:>10.1f}"
                  f"{result['p99_ms']:>10.1f}{result['max_ms']:>10.1f}  {result['statuses']}")
    lockmaster, bare = _median_round(results["lockmaster"]), _median_round(results["bare"])
    ratio = lockmaster["per_s"] / bare["per_s"]
    recorded = results["lockmaster"][-1]["builds_recorded"]
    lag = max(r["recorded_after_s"] for r in results["lockmaster"])
    print(f"median rounds: ratio (lockmaster / bare) {ratio:.2f}, "
          f"lockmaster p99 {lockmaster['p99_ms']:.1f} ms")
    print(f"all {recorded} builds recorded, at most {lag:.1f} s after a round's last answer")
    print(json.dumps({"ratio": round(ratio, 3), "p99_ms": round(lockmaster["p99_ms"], 1),
                      "p50_ms": round(lockmaster["p50_ms"], 1),
                      "deliveries_per_s": round(lockmaster["per_s"], 1),
                      "baseline_per_s": round(bare["per_s"], 1),
                      "baseline_p99_ms": round(bare["p99_ms"], 1),
                      "builds_recorded": recorded, "recorded_after_s": round(lag, 2),
                      "rounds": args.rounds, "n": args.n, "concurrency": args.concurrency}))


if __name__ == "__main__":
    main()
