"""Benchmark of the notification outbox (issue #6): dispatcher throughput and a panel-filling
simulation.

Usage: python bench/notify_bench.py [--database-url URL] [--messages 400] [--draws 100] [--seed 6]
       [--skip-throughput] [--skip-simulation]

Both parts run on a scratch PostgreSQL database created next to `--database-url` (default
postgresql+psycopg://postgres@127.0.0.1:5432/test) and dropped afterwards.

1. Throughput: `--messages` outbox messages (half SMS, half calls) sent through the real twilio
   client to the loopback fake Twilio API (notify/twilio_fake.py), by one and two dispatcher
   threads in this process and by one and two `expertpool notify-worker` processes.
2. Simulation with a compressed clock (no sleeping; `now=` is passed to `dispatch_once`, which also
   runs the deadline logic): `--draws` draws at once, each with 7 seats in two groups (4 + 3) and a
   list of backups per group. Each invited expert (seeded) accepts (50 %), declines (30 %) or stays
   silent (20 %); a responder picks up the first call with probability 0.8, else the second.
   Declines and silence bring the next backup of the same group through a replacement handler
   defined here. Reported: time to fill a draw (p50/p95, simulated minutes) and messages per
   filled seat. The console notifier stands in for the provider; answers go through the same
   handlers as the provider's webhooks.
"""

from __future__ import annotations

import argparse
import os
import random
import secrets
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url

import notify
from expertpool.app import create_app
from expertpool.core import migrate
from expertpool.core.config import Config
from expertpool.notifications import dispatcher as notifications
from expertpool.notifications import invitations
from expertpool.notifications.context import InvitationCallbacks, NotifyContext
from expertpool.notifications.models import (
    InvitationRecord,
    InvitationState,
    OutboxMessage,
    OutboxStatus,
)
from notify.twilio_fake import (
    FAKE_ACCOUNT_SID,
    FAKE_AUTH_TOKEN,
    FAKE_FROM_NUMBER,
    FakeTwilioApi,
    twilio_notifier_for,
)

PUBLIC = "https://pool.example.gov.cn"
STARTS_AT = datetime(2026, 12, 3, 1, 30, tzinfo=UTC)


# -- scratch database ---------------------------------------------------------------------------


def create_scratch(base_url: str) -> str:
    """A new empty database next to `base_url`; returns its URL."""
    url = make_url(base_url)
    name = f"ep_bench_{os.getpid()}_{secrets.token_hex(3)}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return url.set(database=name).render_as_string(hide_password=False)


def drop_scratch(scratch_url: str, base_url: str) -> None:
    """Drop a database made by `create_scratch`."""
    admin = create_engine(make_url(base_url), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(
            text(f'DROP DATABASE IF EXISTS "{make_url(scratch_url).database}" WITH (FORCE)')
        )
    admin.dispose()


def build(database_url: str, instance: str) -> Any:
    """A migrated app on `database_url` (console notifier, no embedded worker)."""
    config = Config(
        instance_path=instance,
        database_url=database_url,
        secret_key="bench-" + "x" * 26,
        notify_worker_in_process=False,
        public_base_url=PUBLIC,
    )
    app = create_app(config)
    st = app.extensions["expertpool"]
    st.keys.init()
    migrate.upgrade(st.engine, keys=st.keys)
    return app


def enqueue(app: Any, ctx: NotifyContext, count: int, draw_id: str, phone_base: int) -> list[str]:
    """Queue `count` invitations (an SMS and a call each) and commit; returns the numbers."""
    st = app.extensions["expertpool"]
    session = st.sessions()
    phones = []
    for i in range(count):
        phone = f"+86{phone_base + i}"
        phones.append(phone)
        invitations.enqueue_invitation(
            session,
            draw_id=draw_id,
            group_id="G",
            expert_id=i + 1,
            rank=i + 1,
            phone=phone,
            expert_name="专家",
            starts_at=STARTS_AT,
            venue="广州",
            ctx=ctx,
        )
    session.commit()
    st.sessions.remove()
    return phones


def pending(app: Any) -> int:
    """Messages not yet sent or given up."""
    st = app.extensions["expertpool"]
    try:
        return int(
            st.sessions()
            .execute(
                select(func.count())
                .select_from(OutboxMessage)
                .where(
                    OutboxMessage.status.in_(
                        [OutboxStatus.PENDING, OutboxStatus.SENDING, OutboxStatus.UNKNOWN]
                    )
                )
            )
            .scalar_one()
        )
    finally:
        st.sessions.remove()


# -- 1. throughput --------------------------------------------------------------------------------


def run_threads(
    app: Any, api: FakeTwilioApi, ctx: NotifyContext, workers: int, messages: int, base: int
) -> float:
    """Send `messages` with `workers` dispatcher threads; returns messages per second."""
    enqueue(app, ctx, messages // 2, f"T{workers}-{base}", base)
    st = app.extensions["expertpool"]
    notifier = twilio_notifier_for(api, timeout_seconds=10.0)
    before = len(api.requests)
    barrier = threading.Barrier(workers + 1)
    errors: list[BaseException] = []

    def work(name: str) -> None:
        try:
            with app.app_context():
                barrier.wait()
                while True:
                    report = notifications.dispatch_once(
                        st.sessions, notifier, None, name, 10, ctx=ctx
                    )
                    if report.claimed == 0:
                        if pending(app) == 0:
                            break
                        time.sleep(0.05)
                st.sessions.remove()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(f"t{i}",)) for i in range(workers)]
    for t in threads:
        t.start()
    barrier.wait()
    started = time.perf_counter()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    if errors:
        raise errors[0]
    sent = len(api.requests) - before
    assert sent == messages, (sent, messages)
    return messages / elapsed


def run_processes(
    app: Any,
    api: FakeTwilioApi,
    ctx: NotifyContext,
    workers: int,
    messages: int,
    base: int,
    instance: str,
) -> float:
    """Send `messages` with `workers` `expertpool notify-worker` processes; returns messages per
    second.

    Measured at the fake: from the first request received to the last (process start-up excluded).
    """
    enqueue(app, ctx, messages // 2, f"P{workers}-{base}", base)
    config = app.extensions["expertpool"].config
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TWILIO_", "EXPERTPOOL_"))}
    env.update(
        {
            "DATABASE_URL": config.database_url,
            "EXPERTPOOL_INSTANCE_PATH": instance,
            "SECRET_KEY": config.secret_key,
            "EXPERTPOOL_NOTIFIER": "twilio",
            "TWILIO_ACCOUNT_SID": FAKE_ACCOUNT_SID,
            "TWILIO_AUTH_TOKEN": FAKE_AUTH_TOKEN,
            "TWILIO_FROM_NUMBER": FAKE_FROM_NUMBER,
            "TWILIO_API_BASE_URL": api.base_url,
            "EXPERTPOOL_PUBLIC_BASE_URL": PUBLIC,
        }
    )
    before = len(api.requests)
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "expertpool.cli",
                "notify-worker",
                "--interval",
                "0.05",
                "--batch",
                "10",
            ],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(workers)
    ]
    try:
        while pending(app):
            time.sleep(0.05)
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait(30)
    requests = api.requests[before:]
    assert len(requests) == messages, (len(requests), messages)
    span = (requests[-1].received_at - requests[0].received_at).total_seconds()
    return (messages - 1) / span


# -- 2. simulation ------------------------------------------------------------------------------


@dataclass
class Expert:
    """A simulated expert: what they will answer and on which call they pick up."""

    phone: str
    answer: str  # accept | decline | silent
    pickup_call: int  # 1 or 2
    calls_seen: int = 0


def no_seat(session: Any, invitation: InvitationRecord, ctx: NotifyContext) -> str | None:
    """The seat callback: the benchmark books no seats, the invitation's venue stands."""
    return None


def no_replacement(
    session: Any, invitation: InvitationRecord, reason: str, ctx: NotifyContext
) -> None:
    """The replacement callback of the throughput part: nobody is replaced."""


NO_CALLBACKS = InvitationCallbacks(replace=no_replacement, seat=no_seat)


@dataclass
class Simulation:
    """The state of the compressed-clock simulation."""

    now: datetime
    rng: random.Random
    experts: dict[str, Expert] = field(default_factory=dict)
    backups: dict[tuple[str, str], list[int]] = field(default_factory=dict)
    next_rank: dict[tuple[str, str], int] = field(default_factory=dict)
    exhausted: int = 0
    ctx: NotifyContext | None = None

    def new_expert(self, expert_id: int) -> Expert:
        """Draw an expert's behaviour from the seeded generator."""
        r = self.rng.random()
        answer = "accept" if r < 0.5 else "decline" if r < 0.8 else "silent"
        expert = Expert(
            phone=f"+86139{expert_id:08d}",
            answer=answer,
            pickup_call=1 if self.rng.random() < 0.8 else 2,
        )
        self.experts[expert.phone] = expert
        return expert

    def invite(self, session: Any, draw_id: str, group_id: str, expert_id: int) -> None:
        """Queue one invitation (in the caller's transaction)."""
        assert self.ctx is not None
        expert = self.new_expert(expert_id)
        key = (draw_id, group_id)
        self.next_rank[key] = self.next_rank.get(key, 0) + 1
        invitations.enqueue_invitation(
            session,
            draw_id=draw_id,
            group_id=group_id,
            expert_id=expert_id,
            rank=self.next_rank[key],
            phone=expert.phone,
            expert_name="专家",
            starts_at=STARTS_AT,
            venue="广州",
            now=self.now,
            ctx=self.ctx,
        )

    def replace(
        self, session: Any, invitation: InvitationRecord, reason: str, ctx: NotifyContext
    ) -> None:
        """The replacement handler: invite the next backup of the same group, if any is left."""
        queue = self.backups[(invitation.draw_id, invitation.group_id)]
        if not queue:
            self.exhausted += 1
            return
        self.invite(session, invitation.draw_id, invitation.group_id, queue.pop(0))


def simulate(app: Any, draws: int, seed: int) -> dict[str, Any]:
    """Fill `draws` panels of 7 seats at once on a compressed clock; returns the measurements."""
    st = app.extensions["expertpool"]
    console = notify.ConsoleNotifier()
    t0 = datetime(2026, 11, 1, 1, 0, tzinfo=UTC)
    sim = Simulation(now=t0, rng=random.Random(seed))
    ctx = NotifyContext(st.config, st.keys, InvitationCallbacks(replace=sim.replace, seat=no_seat))
    sim.ctx = ctx
    groups = (("G1", 4), ("G2", 3))
    expert_ids = iter(range(1, 10_000_000))
    session = st.sessions()
    for d in range(draws):
        draw_id = f"S{d:03d}"
        for group_id, seats in groups:
            sim.backups[(draw_id, group_id)] = [next(expert_ids) for _ in range(3 * seats)]
            for _ in range(seats):
                sim.invite(session, draw_id, group_id, next(expert_ids))
    session.commit()
    st.sessions.remove()
    filled_at: dict[str, float] = {}
    handled: set[str] = set()
    answers_due: dict[datetime, list[tuple[str, str]]] = defaultdict(list)
    wall = time.perf_counter()
    while sim.now < t0 + timedelta(hours=24):
        while notifications.dispatch_once(
            st.sessions, console, sim.now, "sim", 500, ctx=ctx
        ).claimed:
            pass
        # New calls ring: decide now how and when each one ends.
        for entry in console.entries():
            if entry.channel is not notify.Channel.VOICE or entry.sid in handled:
                continue
            handled.add(entry.sid)
            expert = sim.experts[entry.to]
            expert.calls_seen += 1
            if expert.answer != "silent" and expert.calls_seen >= expert.pickup_call:
                action = "1" if expert.answer == "accept" else "2"
                delay = sim.rng.randint(0, 2)
            else:
                action, delay = "no-answer", 1
            answers_due[sim.now + timedelta(minutes=delay)].append((entry.sid, action))
        session = st.sessions()
        for sid, action in answers_due.pop(sim.now, []):
            events = (
                console.simulate_call_end(sid, "no-answer")
                if action == "no-answer"
                else console.simulate_keypress(sid, action)
            )
            outbox_id = session.execute(
                select(OutboxMessage.id).where(OutboxMessage.provider_sid == sid)
            ).scalar_one()
            for event in events:
                notifications.apply_event(
                    session,
                    event,
                    outbox_id=outbox_id,
                    now=sim.now,
                    ctx=ctx,
                    provider=console.provider,
                )
            session.commit()
        for draw_id, accepted in session.execute(
            select(InvitationRecord.draw_id, func.count())
            .where(InvitationRecord.state == InvitationState.ACCEPTED)
            .group_by(InvitationRecord.draw_id)
        ).all():
            if accepted >= 7 and draw_id not in filled_at:
                filled_at[draw_id] = (sim.now - t0).total_seconds() / 60
        is_open = session.execute(
            select(func.count())
            .select_from(InvitationRecord)
            .where(
                InvitationRecord.draw_id.like("S%"),
                InvitationRecord.state.in_([InvitationState.QUEUED, InvitationState.CALLING]),
            )
        ).scalar_one()
        st.sessions.remove()
        if len(filled_at) == draws or (not is_open and not answers_due):
            break
        sim.now += timedelta(minutes=1)
    # The last confirmations still go out.
    while notifications.dispatch_once(st.sessions, console, sim.now, "sim", 500, ctx=ctx).claimed:
        pass
    wall = time.perf_counter() - wall
    session = st.sessions()
    ours = InvitationRecord.draw_id.like("S%")
    sent = Counter(
        kind.value
        for kind in session.execute(
            select(OutboxMessage.kind)
            .join(InvitationRecord, OutboxMessage.invitation_id == InvitationRecord.id)
            .where(OutboxMessage.status == OutboxStatus.SENT, ours)
        ).scalars()
    )
    states = Counter(
        s.value for s in session.execute(select(InvitationRecord.state).where(ours)).scalars()
    )
    st.sessions.remove()
    filled_seats = states.get("accepted", 0)
    times = sorted(filled_at.values())
    return {
        "draws": draws,
        "seats": 7 * draws,
        "filled_draws": len(filled_at),
        "filled_seats": filled_seats,
        "invitations": sum(states.values()),
        "states": dict(states),
        "messages": dict(sent),
        "messages_total": sum(sent.values()),
        "messages_per_filled_seat": sum(sent.values()) / filled_seats
        if filled_seats
        else float("nan"),
        "fill_p50_min": statistics.median(times) if times else float("nan"),
        "fill_p95_min": times[max(0, round(0.95 * len(times)) - 1)] if times else float("nan"),
        "fill_max_min": times[-1] if times else float("nan"),
        "backups_exhausted": sim.exhausted,
        "simulated_minutes": (sim.now - t0).total_seconds() / 60,
        "wall_seconds": wall,
    }


def main() -> None:
    """Run the benchmarks and print the numbers."""
    parser = argparse.ArgumentParser(description=" ".join(__doc__.split("\n\n")[0].split()))
    parser.add_argument(
        "--database-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/test"
    )
    parser.add_argument("--messages", type=int, default=400)
    parser.add_argument("--draws", type=int, default=100)
    parser.add_argument("--seed", type=int, default=6)
    parser.add_argument("--skip-throughput", action="store_true")
    parser.add_argument("--skip-simulation", action="store_true")
    args = parser.parse_args()
    print(f"load average before: {os.getloadavg()}")
    scratch = create_scratch(args.database_url)
    instance = tempfile.mkdtemp(prefix="notify-bench-")
    app = build(scratch, instance)
    try:
        with app.app_context():
            st = app.extensions["expertpool"]
            if not args.skip_throughput:
                twilio_config = st.config.replace(
                    notifier="twilio",
                    twilio_account_sid=FAKE_ACCOUNT_SID,
                    twilio_auth_token=FAKE_AUTH_TOKEN,
                    twilio_from_number=FAKE_FROM_NUMBER,
                )
                ctx = NotifyContext(twilio_config, st.keys, NO_CALLBACKS)
                with FakeTwilioApi() as api:
                    base = 13700000000
                    for workers in (1, 2):
                        rate = run_threads(app, api, ctx, workers, args.messages, base)
                        base += args.messages
                        print(
                            f"throughput, {workers} thread(s): {rate:.1f} messages/s "
                            f"({args.messages} messages)"
                        )
                    for workers in (1, 2):
                        rate = run_processes(app, api, ctx, workers, args.messages, base, instance)
                        base += args.messages
                        print(
                            f"throughput, {workers} process(es): {rate:.1f} messages/s "
                            f"({args.messages} messages)"
                        )
            if not args.skip_simulation:
                result = simulate(app, args.draws, args.seed)
                for key, value in result.items():
                    print(
                        f"simulation {key}: {value:.1f}"
                        if isinstance(value, float)
                        else f"simulation {key}: {value}"
                    )
    finally:
        app.extensions["expertpool"].sessions.remove()
        app.extensions["expertpool"].engine.dispose()
        drop_scratch(scratch, args.database_url)
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
