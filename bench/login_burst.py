"""/healthz under a burst of parallel logins, with and without the bound on Argon2 work (#27).

Serves the app as production does (gunicorn `-k gevent -w 1`; SQLite in a scratch folder, or the
empty PostgreSQL database `--database-url` names) with
production Argon2 settings (3 passes, 64 MiB), creates 16 accounts, then for `--duration` seconds
keeps 16 threads logging in through POST /api/v1/tokens (each login one Argon2 verification)
while the main thread asks for /healthz every 50 ms. The login limits are raised for the run (every
request comes from 127.0.0.1). Prints /healthz latency at rest and under the burst, and the
logins done.

    python bench/login_burst.py --parallel 0   # no bound: every login hashes at once
    python bench/login_burst.py --parallel 1   # the default bound
    python bench/login_burst.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/burst
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests

from bench.builders import bench_config, build_app
from expertpool.accounts import users

LOGINS = 16
PASSWORD = "kestrel-violin-2026"


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _probe(url: str, count: int, gap: float, stop: threading.Event | None = None) -> list[float]:
    out: list[float] = []
    session = requests.Session()
    for _ in range(count):
        if stop is not None and stop.is_set():
            break
        started = time.perf_counter()
        session.get(url + "/healthz", timeout=30).raise_for_status()
        out.append((time.perf_counter() - started) * 1000)
        time.sleep(gap)
    return out


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def main() -> None:
    """Run the burst and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--parallel", type=int, default=1, help="argon2_parallel (0: no bound)")
    parser.add_argument("--duration", type=float, default=20.0)
    parser.add_argument(
        "--database-url",
        default="",
        help="an empty PostgreSQL database to use (default: SQLite in a scratch folder)",
    )
    args = parser.parse_args()
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    instance = Path(tempfile.mkdtemp(prefix="ep-login-burst-"))
    config = bench_config(
        instance,
        args.database_url or f"sqlite:///{instance / 'bench.sqlite'}",
        argon2_time_cost=3,
        argon2_memory_kib=65536,
        argon2_parallel=args.parallel,
        login_rate_limit="100000 per minute",
        login_account_limit="100000 per minute",
        login_address_limit="100000 per minute",
    )
    app = build_app(config)
    st = app.extensions["expertpool"]
    with app.app_context():
        db = st.sessions()
        names = []
        for n in range(LOGINS):
            user = users.create_user(
                db,
                actor="bench",
                username=f"burst{n}",
                display_name=f"压测{n}",
                password=PASSWORD,
                role="expert",
            )
            names.append(user.username)
        st.sessions.remove()
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("EXPERTPOOL_", "DATABASE"))}
    env.update(
        {
            "DATABASE_URL": config.database_url,
            "SECRET_KEY": config.secret_key,
            "EXPERTPOOL_INSTANCE_PATH": config.instance_path,
            "EXPERTPOOL_SOCKETIO_ASYNC_MODE": "gevent",
            "EXPERTPOOL_NOTIFY_WORKER_IN_PROCESS": "false",
            "EXPERTPOOL_ARGON2_PARALLEL": str(args.parallel),
            "EXPERTPOOL_LOGIN_RATE_LIMIT": "100000 per minute",
            "EXPERTPOOL_LOGIN_ACCOUNT_LIMIT": "100000 per minute",
            "EXPERTPOOL_LOGIN_ADDRESS_LIMIT": "100000 per minute",
            "PYTHONPATH": str(Path(__file__).resolve().parents[1]),
        }
    )
    gunicorn = str(Path(sys.executable).with_name("gunicorn"))
    target = "expertpool.wsgi:app"
    command = [gunicorn, "-k", "gevent", "-w", "1", "-b", f"127.0.0.1:{port}"]
    server = subprocess.Popen(
        [*command, "--log-level", "warning", "--no-control-socket", target],
        env=env,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            if requests.get(url + "/healthz", timeout=2).ok:
                break
        except requests.RequestException:
            time.sleep(0.2)
        if time.monotonic() > deadline:
            server.kill()
            raise SystemExit("the server did not start")
    at_rest = _probe(url, 100, 0.02)

    stop = threading.Event()
    done: list[float] = []
    lock = threading.Lock()

    def burst(name: str) -> None:
        session = requests.Session()
        while not stop.is_set():
            started = time.perf_counter()
            answer = session.post(
                url + "/api/v1/tokens", json={"username": name, "password": PASSWORD}, timeout=60
            )
            assert answer.status_code in (201, 429), answer.status_code
            with lock:
                done.append((time.perf_counter() - started) * 1000)

    threads = [threading.Thread(target=burst, args=(n,)) for n in names]
    for t in threads:
        t.start()
    time.sleep(1.0)  # every thread is hashing by now
    timer = threading.Timer(args.duration, stop.set)
    timer.start()
    under_burst = _probe(url, 100000, 0.05, stop)
    for t in threads:
        t.join()
    server.terminate()
    server.wait(10)

    def line(label: str, values: list[float]) -> str:
        return (
            f"{label}: n={len(values)} p50={statistics.median(values):.1f} ms "
            f"p95={_percentile(values, 0.95):.1f} ms max={max(values):.1f} ms"
        )

    print(f"argon2_parallel={args.parallel} duration={args.duration:.0f}s")
    print(line("/healthz at rest", at_rest))
    print(line("/healthz under 16 parallel logins", under_burst))
    print(line("login", done) + f" ({len(done) / args.duration:.1f} logins/s)")


if __name__ == "__main__":
    main()
