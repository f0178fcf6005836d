"""Load benchmark of the evaluation room (issue #8): many sessions scoring and chatting at once.

Usage: python bench/room_load.py [--sessions 50 100 200] [--processes 1 2] [--duration 60]
       [--score-interval 10] [--chat-interval 60] [--placement room|spread]
       [--database-url URL] [--redis-url URL]

A scratch PostgreSQL database is created next to ``--database-url`` (default
postgresql+psycopg://postgres@127.0.0.1:5432/test) and dropped afterwards. It holds
max(--sessions) sessions, each with 7 experts (4 in Guangzhou, 3 in Shenzhen) and 2 hosts,
checked in, with a leader, in the scoring phase. For every ``--processes`` value P the app is
served by P gunicorn processes (``-k gevent -w 1``, loopback ports; with P > 1 they share
``--redis-url`` on a channel of their own), and for every ``--sessions`` value N, N × 9
python-socketio AsyncClients (websocket) connect, join, and for ``--duration`` seconds:

* each expert saves a score (``enter_scores``, one cell, a new value, with its next request
  number ``req``) every ``--score-interval`` seconds on average (exponential gaps), and chats
  every ``--chat-interval`` seconds;
* each host chats every ``--chat-interval`` seconds.

With several processes, ``--placement room`` (the default) puts all nine clients of a session
on one process, as the proxy's room affinity does (deploy/nginx-site.conf); ``spread`` splits
every session over the processes, the worst case for the per-process room cache.

Reported per run: connections held at the end, score acknowledgement p50/p99/max, broadcast
latency (emit of a score → a snapshot with that seq at each other client of the session;
emit of a chat → its arrival at the others), errors by code, lost acknowledged scores (each
expert's final snapshot compared with the last value acknowledged for every cell), the CPU of
the load generator and of each server process (share of one core), and the load average.
Everything is on loopback and bounded: at most 200 sessions (1,800 clients) and 300 s per run.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import os
import random
import resource
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

MAX_SESSIONS = 200
MAX_DURATION = 300
NAMESPACE = "/room"
EXPERTS = 7
VENUE_OF = ["gz", "gz", "gz", "gz", "sz", "sz", "sz"]
BIDDERS = ("B001", "B002")
ITEMS = ("tech", "service")
STEP_MAX = {"tech": 100, "service": 40}  # maximum / step (0.5) of the standard form


# --- setup -----------------------------------------------------------------------------------


@dataclass
class Person:
    """One participant of one session: the session cookie and the role."""

    room_id: str
    cookie: str
    is_expert: bool
    name: str


def scratch_database(base_url: str) -> str:
    """Create a private database next to ``base_url``."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    url = make_url(base_url)
    name = f"ep_room_bench_{os.getpid()}_{secrets.token_hex(3)}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return url.set(database=name).render_as_string(hide_password=False)


def drop_database(scratch: str, base_url: str) -> None:
    """Drop the scratch database."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    admin = create_engine(make_url(base_url), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{make_url(scratch).database}" WITH (FORCE)'))
    admin.dispose()


def prepare(config: Any, sessions: int) -> list[list[Person]]:
    """Build the app's database and ``sessions`` sessions at the scoring phase; return their
    people.
    """
    from evaluation_room.adapters import SystemClock
    from evaluation_room.commands import run_command
    from evaluation_room.handlers import NoConflicts, NoReplacements
    from expertpool.accounts import logins, users
    from expertpool.app import create_app
    from expertpool.core import migrate
    from expertpool.core.db import utcnow
    from expertpool.reference import catalogue as reference
    from expertpool.rooms import sessions as rooms
    from expertpool.rooms.store import SqlRoomStore

    app = create_app(config)
    st = app.extensions["expertpool"]
    st.keys.init()
    migrate.upgrade(st.engine, keys=st.keys)
    people: list[list[Person]] = []
    with app.app_context():
        db = st.sessions()
        reference.load_regions(db, reference.bundled("regions-guangdong.json"))
        reference.load_specialties(db, reference.bundled("specialties.json"))
        store, clock = SqlRoomStore(st.sessions), SystemClock()
        client = app.test_client()
        for n in range(sessions):
            experts = [
                users.create_user(
                    db,
                    actor="bench",
                    username=f"s{n}e{i}",
                    display_name=f"专家{n}-{i}",
                    password="password-123",
                    role="expert",
                )
                for i in range(EXPERTS)
            ]
            hosts = [
                users.create_user(
                    db,
                    actor="bench",
                    username=f"s{n}h{c}",
                    display_name=f"主持人{n}-{c}",
                    password="password-123",
                    role="centre_staff",
                    centre_code=centre,
                )
                for c, centre in (("gz", "440100"), ("sz", "440300"))
            ]
            panel = rooms.PanelDescription(
                title=f"压测项目{n}",
                project_code=f"BENCH-{n:04d}",
                lot="1",
                venues=[rooms.VenueSpec("gz", "广州主场", True), rooms.VenueSpec("sz", "深圳副场")],
                members=[
                    rooms.SeatSpec(u.id, "expert", VENUE_OF[i], f"S{i}", f"+8613800{n:04d}{i:02d}")
                    for i, u in enumerate(experts)
                ],
                hosts=[rooms.StaffSpec(hosts[0].id, "gz"), rooms.StaffSpec(hosts[1].id, "sz")],
                form=rooms.STANDARD_FORM,
                bids=[
                    {
                        "bidder_code": "B001",
                        "bidder_name": "甲公司",
                        "price": "1000000",
                        "checks": {},
                    },
                    {
                        "bidder_code": "B002",
                        "bidder_name": "乙公司",
                        "price": "950000",
                        "checks": {},
                    },
                ],
            )
            room_id = rooms.create_session(db, panel, actor="bench").room_id
            expert_ids, host_ids = [str(u.id) for u in experts], [str(u.id) for u in hosts]

            def to_scoring(
                r: Any, expert_ids: list[str] = expert_ids, host_ids: list[str] = host_ids
            ) -> None:
                main, second = (r.participant_for_user(h) for h in host_ids)
                pids = [r.participant_for_user(e) for e in expert_ids]
                r.open(main)
                r.start_check_in(main)
                for i, pid in enumerate(pids):
                    code, _ = r.issue_check_in_code(pid, pid)
                    r.enter_check_in_code(pid, code)
                    r.confirm_identity(
                        main if VENUE_OF[i] == "gz" else second,
                        pid,
                        f"S{i}",
                        NoConflicts(),
                        NoReplacements(),
                    )
                r.start_election(main)
                for pid in pids:
                    r.vote(pid, "专家1")
                r.start_scoring(main)

            run_command(store, room_id, clock, to_scoring)
            group = []
            for u in [*experts, *hosts]:
                # A server-side login session, as the login form opens one.
                sid = logins.start(db, u.id, now=utcnow(), address="127.0.0.1", agent="bench")
                with client.session_transaction() as sess:
                    sess["uid"] = u.id
                    sess["pw"] = u.password_changed_at.isoformat()
                    sess["sid"] = sid
                cookie = client.get_cookie("session")
                assert cookie is not None
                group.append(Person(room_id, cookie.value, u.role == "expert", u.username))
            people.append(group)
            st.sessions.remove()
            db = st.sessions()
    st.engine.dispose()
    return people


# --- servers ---------------------------------------------------------------------------------


def free_port() -> int:
    """A free loopback port."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Servers:
    """P gunicorn gevent processes on loopback."""

    procs: list[subprocess.Popen[bytes]]
    urls: list[str]
    logs: list[Path]

    def worker_pids(self) -> list[int]:
        """The worker process of each gunicorn master."""
        pids = []
        for p in self.procs:
            out = subprocess.run(
                ["pgrep", "-P", str(p.pid)], capture_output=True, text=True
            ).stdout.split()
            pids.extend(int(x) for x in out[:1])
        return pids

    def stop(self) -> None:
        """Kill every process group."""
        for p in self.procs:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(p.pid, signal.SIGKILL)
            p.wait(10)


def start_servers(count: int, config: Any, redis_url: str, workdir: Path) -> Servers:
    """Start ``count`` processes (Redis shared when more than one) and wait until they answer."""
    import requests

    gunicorn = str(Path(sys.executable).with_name("gunicorn"))
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("EXPERTPOOL_", "DATABASE_URL", "REDIS_URL"))
    }
    env.update(
        {
            "DATABASE_URL": config.database_url,
            "SECRET_KEY": config.secret_key,
            "EXPERTPOOL_INSTANCE_PATH": config.instance_path,
            "EXPERTPOOL_SOCKETIO_ASYNC_MODE": "gevent",
            "EXPERTPOOL_SOCKETIO_CHANNEL": f"expertpool-bench-{uuid.uuid4().hex[:8]}",
            "EXPERTPOOL_NOTIFY_WORKER_IN_PROCESS": "false",
            "PYTHONUNBUFFERED": "1",
            "PYTHONPATH": str(Path(__file__).resolve().parents[1]),
        }
    )
    if count > 1:
        env["REDIS_URL"] = redis_url
    procs, urls, logs = [], [], []
    for i in range(count):
        port = free_port()
        log = workdir / f"server-{count}-{i}.log"
        with log.open("wb") as out:
            procs.append(
                subprocess.Popen(
                    [
                        gunicorn,
                        "-k",
                        "gevent",
                        "-w",
                        "1",
                        "-b",
                        f"127.0.0.1:{port}",
                        "--no-control-socket",
                        "--worker-connections",
                        "4000",
                        "--log-level",
                        "warning",
                        "expertpool.wsgi:app",
                    ],
                    env=env,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            )
        urls.append(f"http://127.0.0.1:{port}")
        logs.append(log)
    servers = Servers(procs, urls, logs)
    for url, log in zip(urls, logs, strict=True):
        end = time.monotonic() + 30
        while True:
            try:
                if requests.get(url + "/login", timeout=2).status_code == 200:
                    break
            except requests.RequestException:
                pass
            if time.monotonic() > end:
                servers.stop()
                raise SystemExit(f"server {url} did not start:\n{log.read_text(errors='replace')}")
            time.sleep(0.2)
    return servers


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process (from /proc)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# --- load ------------------------------------------------------------------------------------


@dataclass
class Stats:
    """Measurements of one run."""

    acks: list[float] = field(default_factory=list)
    broadcast: list[float] = field(default_factory=list)
    chat: list[float] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)
    sent_at: dict[tuple[str, int], float] = field(default_factory=dict)
    seen_at: list[tuple[str, int, float]] = field(default_factory=list)
    connected: int = 0
    scores_acked: int = 0
    lost: int = 0


class Participant:
    """One AsyncClient: joins, then scores (experts) and chats at the configured pace."""

    def __init__(self, person: Person, url: str, stats: Stats, rng: random.Random) -> None:
        import socketio

        self.person = person
        self.url = url
        self.stats = stats
        self.rng = rng
        self.sio = socketio.AsyncClient(reconnection=False)
        self.sio.on("snapshot", self.on_snapshot, namespace=NAMESPACE)
        self.sio.on("chat", self.on_chat, namespace=NAMESPACE)
        self.acked: dict[tuple[str, str], str] = {}
        self.unconfirmed: dict[tuple[str, str], set[str]] = {}
        """Values sent after the last acknowledged one of a cell without an answer: they may have
        landed.
        """
        self.values: Counter[tuple[str, str]] = Counter()
        self.req = 0
        """This participant's last request number (every change carries the next one)."""

    async def on_snapshot(self, snap: dict[str, Any]) -> None:
        """Note when a snapshot arrived."""
        self.stats.seen_at.append((self.person.room_id, int(snap["seq"]), time.monotonic()))

    async def on_chat(self, message: dict[str, Any]) -> None:
        """Measure chat latency from the timestamp in the text."""
        text = str(message.get("text", ""))
        if text.startswith("t=") and not text.endswith(self.person.name):
            with contextlib.suppress(ValueError):
                self.stats.chat.append(time.monotonic() - float(text[2:].split(" ", 1)[0]))

    async def connect(self) -> bool:
        """Connect and join; False on failure."""
        try:
            await self.sio.connect(
                f"{self.url}?room={self.person.room_id}",
                headers={"Cookie": f"session={self.person.cookie}"},
                namespaces=[NAMESPACE],
                transports=["websocket"],
                wait_timeout=20,
            )
            ack = await self.sio.call(
                "join", {"room_id": self.person.room_id}, namespace=NAMESPACE, timeout=20
            )
        except Exception as exc:
            self.stats.errors[f"connect:{exc.__class__.__name__}"] += 1
            return False
        if not ack.get("ok"):
            self.stats.errors[f"join:{ack['error']['code']}"] += 1
            return False
        self.req = max(self.req, int(ack["snapshot"]["viewer"].get("last_request", 0)))
        return True

    async def call(self, event: str, payload: dict[str, Any]) -> dict[str, Any] | None:
        """Emit with a 10 s acknowledgement timeout; None (counted) when none comes."""
        payload["room_id"] = self.person.room_id
        try:
            ack: dict[str, Any] = await self.sio.call(
                event, payload, namespace=NAMESPACE, timeout=10
            )
        except Exception as exc:
            self.stats.errors[f"{event}:{exc.__class__.__name__}"] += 1
            return None
        if not ack.get("ok"):
            self.stats.errors[f"{event}:{ack['error']['code']}"] += 1
        return ack

    async def run(self, until: float, score_interval: float, chat_interval: float) -> None:
        """Score and chat until ``until`` (monotonic)."""
        next_chat = time.monotonic() + self.rng.expovariate(1 / chat_interval)
        next_score = time.monotonic() + self.rng.expovariate(1 / score_interval)
        while True:
            now = time.monotonic()
            if self.person.is_expert and next_score < next_chat:
                at, what = next_score, "score"
            else:
                at, what = next_chat, "chat"
            if at >= until:
                return
            await asyncio.sleep(max(0.0, at - now))
            if what == "chat":
                next_chat += self.rng.expovariate(1 / chat_interval)
                await self.call("chat", {"text": f"t={time.monotonic():.6f} {self.person.name}"})
                continue
            next_score += self.rng.expovariate(1 / score_interval)
            cell = (self.rng.choice(BIDDERS), self.rng.choice(ITEMS))
            self.values[cell] += 1
            value = f"{(self.values[cell] % STEP_MAX[cell[1]]) / 2:.1f}"
            started = time.monotonic()
            self.req += 1
            ack = await self.call(
                "enter_scores", {"scores": {cell[0]: {cell[1]: value}}, "req": self.req}
            )
            if ack and ack.get("ok"):
                self.stats.acks.append(time.monotonic() - started)
                self.stats.sent_at[(self.person.room_id, int(ack["seq"]))] = started
                self.stats.scores_acked += 1
                self.acked[cell] = value
                self.unconfirmed[cell] = set()
            elif ack is None:
                self.unconfirmed.setdefault(cell, set()).add(value)

    async def verify(self) -> None:
        """Compare the stored sheet with the last acknowledged value of every cell."""
        if not self.person.is_expert or not self.acked:
            return
        ack = None
        for _ in range(5):  # the server may still be working through a backlog
            ack = await self.call("snapshot", {})
            if ack and ack.get("ok"):
                break
        if not ack or not ack.get("ok"):
            self.stats.errors["verify:unanswered"] += 1
            return
        scores = ack["snapshot"]["my_sheet"]["scores"]
        for (bidder, item), value in self.acked.items():
            stored = scores.get(bidder, {}).get(item)
            if stored != value and stored not in self.unconfirmed.get((bidder, item), set()):
                self.stats.lost += 1


async def run_load(
    people: list[list[Person]], urls: list[str], args: argparse.Namespace
) -> tuple[Stats, float]:
    """Connect everyone, run the scripted load, verify; return the stats and the elapsed time."""
    stats = Stats()
    rng = random.Random(8)
    if args.placement == "room":  # as the proxy places them (deploy/nginx-site.conf): by room
        where = [[urls[n % len(urls)]] * len(group) for n, group in enumerate(people)]
    else:  # every session split over the processes: the worst case for the room cache
        where = [
            [urls[(n * 9 + i) % len(urls)] for i in range(len(group))]
            for n, group in enumerate(people)
        ]
    parts = [
        Participant(p, where[n][i], stats, random.Random(rng.random()))
        for n, group in enumerate(people)
        for i, p in enumerate(group)
    ]
    gate = asyncio.Semaphore(50)

    async def connect(p: Participant) -> bool:
        async with gate:
            return await p.connect()

    t0 = time.monotonic()
    ok = await asyncio.gather(*(connect(p) for p in parts))
    live = [p for p, good in zip(parts, ok, strict=True) if good]
    print(f"  connected {len(live)}/{len(parts)} in {time.monotonic() - t0:.1f} s", flush=True)
    # The generator's own collector pauses would be counted as server latency: move what exists
    # now out of its sight (as the server does at start-up).
    gc.collect()
    gc.freeze()
    stats.seen_at.clear()
    started = time.monotonic()
    until = started + min(args.duration, MAX_DURATION)
    await asyncio.gather(*(p.run(until, args.score_interval, args.chat_interval) for p in live))
    elapsed = time.monotonic() - started
    await asyncio.sleep(2)  # let the last snapshots arrive
    stats.connected = sum(1 for p in live if p.sio.connected)
    await asyncio.gather(*(p.verify() for p in live))
    for room_id, seq, at in stats.seen_at:
        sent = stats.sent_at.get((room_id, seq))
        if sent is not None:
            stats.broadcast.append(at - sent)
    await asyncio.gather(*(p.sio.disconnect() for p in parts), return_exceptions=True)
    return stats, elapsed


def pct(values: list[float], q: float) -> str:
    """A percentile in milliseconds."""
    if not values:
        return "-"
    ordered = sorted(values)
    return f"{ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000:.0f}"


def main() -> None:
    """Run the benchmark matrix and print one block per run."""
    from expertpool.core.config import Config

    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sessions", type=int, nargs="+", default=[50, 100, 200])
    parser.add_argument("--processes", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--duration", type=float, default=60)
    parser.add_argument("--score-interval", type=float, default=10)
    parser.add_argument("--chat-interval", type=float, default=60)
    parser.add_argument(
        "--placement",
        choices=["room", "spread"],
        default="room",
        help="with several processes: a session's clients on one process (as the proxy "
        "places them), or spread over all of them",
    )
    parser.add_argument(
        "--database-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/test"
    )
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    args = parser.parse_args()
    if max(args.sessions) > MAX_SESSIONS:
        raise SystemExit(f"at most {MAX_SESSIONS} sessions")
    resource.setrlimit(resource.RLIMIT_NOFILE, (20000, 20000))
    gc.set_threshold(50_000, 20, 10)  # the server's setting (expertpool/wsgi.py)
    scratch = scratch_database(args.database_url)
    workdir = Path(tempfile.mkdtemp(prefix="room-bench-"))
    try:
        config = Config(
            instance_path=str(workdir / "instance"),
            database_url=scratch,
            secret_key="bench-" + secrets.token_hex(16),
            notify_worker_in_process=False,
            argon2_time_cost=1,
            argon2_memory_kib=1024,
        )
        t0 = time.monotonic()
        people = prepare(config, max(args.sessions))
        print(
            f"prepared {len(people)} sessions at the scoring phase in "
            f"{time.monotonic() - t0:.1f} s",
            flush=True,
        )
        for count in args.processes:
            servers = start_servers(count, config, args.redis_url, workdir)
            try:
                for n in args.sessions:
                    workers = servers.worker_pids()
                    cpu0 = {pid: cpu_seconds(pid) for pid in workers}
                    me0 = resource.getrusage(resource.RUSAGE_SELF)
                    load0 = os.getloadavg()[0]
                    print(
                        f"\n== {count} process(es)"
                        f"{' + Redis, placement ' + args.placement if count > 1 else ''}, {n} "
                        f"sessions ({n * 9} clients), load average before {load0:.2f}",
                        flush=True,
                    )
                    stats, elapsed = asyncio.run(run_load(people[:n], servers.urls, args))
                    me1 = resource.getrusage(resource.RUSAGE_SELF)
                    gen_cpu = (me1.ru_utime - me0.ru_utime + me1.ru_stime - me0.ru_stime) / elapsed
                    server_cpu = [(cpu_seconds(pid) - cpu0[pid]) / elapsed for pid in workers]
                    print(
                        f"  connections held {stats.connected}/{n * 9}; scores acknowledged "
                        f"{stats.scores_acked} ({stats.scores_acked / elapsed:.1f}/s) in "
                        f"{elapsed:.0f} s"
                    )
                    print(
                        f"  ack ms p50 {pct(stats.acks, 0.5)} p99 {pct(stats.acks, 0.99)} max "
                        f"{pct(stats.acks, 1.0)}; broadcast ms p50 {pct(stats.broadcast, 0.5)} "
                        f"p99 {pct(stats.broadcast, 0.99)} ({len(stats.broadcast)} snapshots); "
                        f"chat ms p50 {pct(stats.chat, 0.5)} p99 {pct(stats.chat, 0.99)}"
                    )
                    print(
                        f"  errors {dict(stats.errors) or 0}; lost acknowledged scores {stats.lost}"
                    )
                    print(
                        f"  CPU (share of one core): load generator {gen_cpu:.2f}, servers "
                        f"{', '.join(f'{c:.2f}' for c in server_cpu)}; load average after "
                        f"{os.getloadavg()[0]:.2f}",
                        flush=True,
                    )
            finally:
                servers.stop()
    finally:
        drop_database(scratch, args.database_url)


if __name__ == "__main__":
    main()
