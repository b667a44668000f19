"""The registry token service under load, and pulls through it.

Tokens: Lockmaster's GET /auth/token (gunicorn as `make run` starts it: `lockmaster web`, 2
gthread workers on 127.0.0.1 with ops/gunicorn_conf.py) for a deploy robot and for a user with
a password, against the bare GET /auth/token of bench/bare_app.py served by the very same
gunicorn command line (app.gunicorn_argv: worker class, threads, connections, keep-alive,
logger; no access log for either). N requests at concurrency C, each for a different
repository scope and on a new connection, fired from another process after an untimed
warm-up, in rounds alternating between the three.

Pulls: 20 concurrent `skopeo copy` of a 20-layer production image into 20 directories, from a
registry with token auth (realm: the Lockmaster above) and from the same storage served
without auth, in alternating rounds. The last line is JSON with robot_ratio, user_ratio,
robot_p99_ms, user_p99_ms and pull_ratio (authed / open wall time).

    .venv/bin/python -m bench.registry_tokens [--n N] [--rounds R] [--pulls P]
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.registry_image import push_layers  # noqa: E402
from bench.webhook_intake import exchange, free_port, serve, wait_for_port, wait_redis  # noqa: E402

PASSWORD = "bench password long enough"
CREDENTIALS_ENV = "LOCKMASTER_BENCH_CREDENTIALS"


def fire(port: int, n: int, concurrency: int, credentials: str, offset: int) -> dict:
    """n token requests, each for another repository; throughput and latencies."""
    auth = base64.b64encode(credentials.encode()).decode()
    requests = [(f"GET /auth/token?service=lockmaster-registry&scope=repository:production/"
                 f"bench/r{offset + i}:pull HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
                 f"Authorization: Basic {auth}\r\nConnection: close\r\n\r\n").encode()
                for i in range(n)]
    latencies, statuses, lock = [], {}, threading.Lock()

    def one(request: bytes) -> None:
        started = time.perf_counter()
        status = exchange(port, request)
        with lock:
            latencies.append(time.perf_counter() - started)
            statuses[status] = statuses.get(status, 0) + 1

    started = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(one, requests))
    wall = time.perf_counter() - started
    latencies.sort()
    return {"per_s": n / wall, "p50_ms": 1000 * statistics.median(latencies),
            "p99_ms": 1000 * latencies[int(0.99 * (len(latencies) - 1))],
            "statuses": statuses}


def _fire(port: int, env: dict, n: int, concurrency: int, credentials: str,
          offset: int) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, "--fire", str(port), "--n", str(n),
         "--concurrency", str(concurrency), "--offset", str(offset)],
        env={**env, CREDENTIALS_ENV: credentials}, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def _installation(tmp: Path, redis_url: str, registry_addr: str) -> tuple[dict, dict]:
    """A lockmaster.yml with token auth, its database with a deploy robot and a user; returns
    (environment, credentials by kind)."""
    from auth.users import add_user
    from record.db import Database
    from record.migrate import upgrade
    from registry import signing
    from registry.robots import create_robot

    config = tmp / "lockmaster.yml"
    config.write_text(f"registry:\n  url: {registry_addr}\n  auth: token\n"
                      "repositories: []\n")
    database_url = f"sqlite:///{tmp}/lockmaster.db"
    upgrade(database_url)
    db = Database(database_url)
    robot = create_robot(db, "bench-deploy", ["production/*"])
    add_user(db, "bench-user", "approver", ["bench/*"], PASSWORD)
    signing.load_or_create(tmp)
    env = {**os.environ, "LOCKMASTER_CONFIG": str(config), "LOCKMASTER_DATA_DIR": str(tmp),
           "LOCKMASTER_REDIS_URL": redis_url, "LOCKMASTER_DATABASE_URL": database_url,
           "LOCKMASTER_LOG_LEVEL": "WARNING"}
    return env, {"robot": f"bench-deploy:{robot}", "user": f"bench-user:{PASSWORD}"}


def _token_rounds(ports: dict, env: dict, credentials: dict, args) -> dict[str, list[dict]]:
    targets = {"robot": (ports["lockmaster"], credentials["robot"]),
               "user": (ports["lockmaster"], credentials["user"]),
               "bare": (ports["bare"], credentials["robot"])}
    for port, who in targets.values():  # untimed warm-up (the user's one hash is here)
        _fire(port, env, 200, args.concurrency, who, offset=10**6)
    results: dict[str, list[dict]] = {name: [] for name in targets}
    for number in range(args.rounds):
        for name, (port, who) in targets.items():
            results[name].append(_fire(port, env, args.n, args.concurrency, who,
                                       offset=number * args.n))
    return results


def _pull_rounds(tmp: Path, authed: str, open_: str, robot: str, args) -> dict[str, list]:
    """Wall seconds of `pulls` concurrent skopeo copies per round, authed and open."""
    results: dict[str, list[float]] = {"authed": [], "open": []}
    for number in range(args.rounds):
        for name, addr in (("authed", authed), ("open", open_)):
            creds = ["--src-creds", robot] if name == "authed" else []
            folder = tmp / f"pulls-{name}-{number}"
            folder.mkdir()

            def copy(i: int, addr=addr, creds=creds, folder=folder) -> str:
                done = subprocess.run(
                    ["skopeo", "copy", "--quiet", "--src-tls-verify=false", *creds,
                     f"docker://{addr}/production/bench/web:latest", f"dir:{folder}/{i}"],
                    capture_output=True, text=True, timeout=600)
                return done.stderr.strip() if done.returncode else ""

            started = time.perf_counter()
            with ThreadPoolExecutor(args.pulls) as pool:
                codes = list(pool.map(copy, range(args.pulls)))
            results[name].append(time.perf_counter() - started)
            shutil.rmtree(folder, ignore_errors=True)
            if any(codes):
                raise SystemExit(f"{codes.count('')}/{args.pulls} {name} pulls succeeded: "
                                 f"{next(c for c in codes if c)}")
    return results


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--pulls", type=int, default=20)
    parser.add_argument("--fire", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--offset", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.fire:
        print(json.dumps(fire(args.fire, args.n, args.concurrency,
                              os.environ[CREDENTIALS_ENV], args.offset)))
        return
    from app import gunicorn_argv
    from registry import signing
    from registry.serverconfig import RegistryServer, render

    with tempfile.TemporaryDirectory(prefix="lockmaster-bench-") as name:
        tmp = Path(name)
        redis_port = free_port()
        redis_url = f"redis://127.0.0.1:{redis_port}/0"
        ports = {"lockmaster": free_port(), "bare": free_port()}
        authed, open_ = f"127.0.0.1:{free_port()}", f"127.0.0.1:{free_port()}"
        env, credentials = _installation(tmp, redis_url, authed)
        registries = {
            authed: RegistryServer(addr=authed, root=str(tmp / "storage"),
                                   realm=f"http://127.0.0.1:{ports['lockmaster']}/auth/token",
                                   bundle=str(signing.bundle_path(tmp))),
            open_: RegistryServer(addr=open_, root=str(tmp / "storage"))}
        for addr, server in registries.items():
            (tmp / f"{addr}.yml").write_text(render(server))
        bare_metrics = tmp / "bare-metrics"  # the shared settings' child_exit hook wants one
        bare_metrics.mkdir()
        processes = [
            subprocess.Popen([shutil.which("redis-server") or "/usr/bin/redis-server",
                              "--bind", "127.0.0.1", "--port", str(redis_port), "--dir", name,
                              "--appendonly", "yes", "--save", ""],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL),
            *(subprocess.Popen(["docker-registry", "serve", str(tmp / f"{addr}.yml")],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
              for addr in registries),
            serve([sys.executable, "app.py", "web", "--port", str(ports["lockmaster"])], env),
            serve(gunicorn_argv(f"127.0.0.1:{ports['bare']}", 2, "bench.bare_app:create_app()"),
                   {**env, "PROMETHEUS_MULTIPROC_DIR": str(bare_metrics)})]
        try:
            wait_redis(redis_url)
            for port in ports.values():
                wait_for_port(port)
            push_layers(f"http://{open_}", "production/bench/web", "latest", layers=20)
            tokens = _token_rounds(ports, env, credentials, args)
            pulls = _pull_rounds(tmp, authed, open_, credentials["robot"], args)
        finally:
            for process in processes:
                process.terminate()
                process.wait(timeout=30)
    _report(tokens, pulls, args)


def _threads() -> str:
    from ops import gunicorn_conf as conf

    return f"{conf.worker_class} x{conf.threads}, keep-alive {conf.keepalive}"


def _median_round(rounds: list[dict]) -> dict:
    return sorted(rounds, key=lambda r: r["per_s"])[len(rounds) // 2]


def _report(tokens: dict, pulls: dict, args) -> None:
    print(f"{args.rounds} alternating rounds of {args.n} token requests (each for another "
          f"repository, a new connection each), concurrency {args.concurrency}, both served by "
          f"`lockmaster web`'s gunicorn settings (2 workers, {_threads()}) on 127.0.0.1; "
          f"{args.pulls} concurrent skopeo pulls of 20 layers")
    print(f"{'round':<7}{'who':<8}{'tokens/s':>10}{'p50 ms':>9}{'p99 ms':>9}  statuses")
    for number in range(args.rounds):
        for name in ("robot", "user", "bare"):
            r = tokens[name][number]
            print(f"{number + 1:<7}{name:<8}{r['per_s']:>10.1f}{r['p50_ms']:>9.1f}"
                  f"{r['p99_ms']:>9.1f}  {r['statuses']}")
    robot, user, bare = (_median_round(tokens[n]) for n in ("robot", "user", "bare"))
    authed, open_ = statistics.median(pulls["authed"]), statistics.median(pulls["open"])
    print(f"pull rounds (s): authed {[round(s, 2) for s in pulls['authed']]}, "
          f"open {[round(s, 2) for s in pulls['open']]}")
    print(json.dumps({"robot_ratio": round(robot["per_s"] / bare["per_s"], 3),
                      "user_ratio": round(user["per_s"] / bare["per_s"], 3),
                      "robot_p99_ms": round(robot["p99_ms"], 1),
                      "user_p99_ms": round(user["p99_ms"], 1),
                      "pull_ratio": round(authed / open_, 3),
                      "robot_per_s": round(robot["per_s"], 1),
                      "user_per_s": round(user["per_s"], 1),
                      "baseline_per_s": round(bare["per_s"], 1),
                      "baseline_p99_ms": round(bare["p99_ms"], 1),
                      "pull_authed_s": round(authed, 2), "pull_open_s": round(open_, 2),
                      "rounds": args.rounds, "n": args.n, "concurrency": args.concurrency}))


if __name__ == "__main__":
    main()
