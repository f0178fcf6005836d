"""Benchmark: candidate snapshot, prepare (snapshot + commitment) and draw on a large pool.

Usage: python bench/draw_snapshot_bench.py --experts 100000 --draws 20 \
           --concurrent 20 [--database-url postgresql+psycopg://...]
Creates a scratch database (PostgreSQL) or file (SQLite), bulk-loads experts with phones,
specialties, employments, avoidances and leave, then times snapshot, prepare and draw over
`--draws` sequential draws (p50/p95), and `--concurrent` complete draws started at once in
threads (draws per minute).
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import io
import itertools
import os
import pstats
import random
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import insert, select
from sqlalchemy.engine import make_url

from bench.builders import (
    COORDINATION,
    PASSWORD,
    bench_config,
    build_app,
    create_scratch_postgres,
    credit_code,
    drop_scratch_postgres,
    project_payload,
)
from expertpool.accounts.models import Centre
from expertpool.core.calendar import CST
from expertpool.core.pii import PiiCipher
from expertpool.core.tokens import ExpertTokens
from expertpool.draws import compute
from expertpool.draws.rules import DrawRules
from expertpool.experts.models import (
    Expert,
    ExpertAvoidance,
    ExpertEmployment,
    ExpertLeave,
    ExpertSpecialty,
)
from expertpool.notifications.notifier import services_of
from expertpool.reference.models import Specialty

NOW = datetime(2026, 6, 3, 9, 0, tzinfo=CST)


def load(session: object, n: int, cipher: PiiCipher) -> None:
    """Bulk-insert n active experts with a phone, 1-3 specialties, one past employment, some
    avoidance and leave.
    """
    rng = random.Random(7)
    codes = [
        c
        for c in session.execute(
            select(Specialty.code).where(Specialty.code.like("A01%"))
        ).scalars()  # type: ignore[attr-defined]
        if len(c) >= 5
    ]
    regions = ["440100", "440300", "440600", "441900", "442000"]
    experts, specs, jobs, avoid, leave = [], [], [], [], []
    for i in range(1, n + 1):
        experts.append(
            {
                "id": i,
                "name": f"专家{i}",
                "status": "active",
                "home_region": rng.choice(regions),
                "employer_code": credit_code(1000 + i % 5000),
                "employer_name": "x",
                "version": 1,
                "phone_enc": cipher.encrypt(
                    f"+86139{i:08d}", table="expert", row_id=i, column="phone"
                ),
            }
        )
        for code in rng.sample(codes, rng.randint(1, 3)):
            specs.append({"expert_id": i, "code": code})
        jobs.append(
            {
                "expert_id": i,
                "org_code": credit_code(20000 + i % 7000),
                "org_name": "x",
                "start_on": date(2015, 1, 1),
                "end_on": date(2024, 1, 1),
            }
        )
        if i % 10 == 0:
            avoid.append(
                {
                    "expert_id": i,
                    "org_code": credit_code(30000 + i % 3000),
                    "org_name": "x",
                    "kind": "relative",
                }
            )
        if i % 25 == 0:
            leave.append(
                {
                    "expert_id": i,
                    "start_on": date(2026, 6, 4),
                    "end_on": date(2026, 6, 6),
                    "reason": "",
                }
            )
    for model, rows in (
        (Expert, experts),
        (ExpertSpecialty, specs),
        (ExpertEmployment, jobs),
        (ExpertAvoidance, avoid),
        (ExpertLeave, leave),
    ):
        for k in range(0, len(rows), 5000):
            session.execute(insert(model), rows[k : k + 5000])  # type: ignore[attr-defined]
    session.commit()  # type: ignore[attr-defined]


def worker_cpu(pool: object) -> float:
    """CPU seconds (user + system) used so far by the draw worker processes (0 without any),
    from /proc: the bench adds them to the web process's own CPU time."""
    total = 0
    for pid in list(getattr(pool, "_processes", None) or {}):
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15)
    return total / os.sysconf("SC_CLK_TCK")


@contextmanager
def profiled(path: str) -> Iterator[None]:
    """Run the block under cProfile when `path` is given: write the profile there and print its
    top entries by own time."""
    if not path:
        yield
        return
    profiler = cProfile.Profile()
    profiler.enable()
    try:
        yield
    finally:
        profiler.disable()
        profiler.dump_stats(path)
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(15)
        print(f"--- profile {path} (top 15 by own time)")
        print("\n".join(out.getvalue().splitlines()[4:]))


def percentile(xs: list[float], q: float) -> float:
    """The q-th percentile (0-100) by linear interpolation between the sorted values."""
    ys = sorted(xs)
    k = (len(ys) - 1) * q / 100
    lo = int(k)
    hi = min(lo + 1, len(ys) - 1)
    return ys[lo] + (ys[hi] - ys[lo]) * (k - lo)


def summary(name: str, xs: list[float]) -> str:
    """One line: p50, p95 and max of a list of durations."""
    return (
        f"{name}: p50 {percentile(xs, 50):.2f} s, p95 {percentile(xs, 95):.2f} s, max "
        f"{max(xs):.2f} s over {len(xs)}"
    )


class Bench:
    """The app, the people and the terminal of one benchmark run, and one timed draw."""

    def __init__(self, app: Any) -> None:
        from expertpool.accounts import users
        from expertpool.departments import members
        from expertpool.projects import terminals, venues

        self.app = app
        self.st = app.extensions["expertpool"]
        s = self.st.sessions()
        self.operator_id = users.create_user(
            s,
            actor="b",
            username="operator1",
            display_name="o",
            password=PASSWORD,
            role="centre_staff",
            centre_code="440100",
        ).id
        users.create_user(
            s,
            actor="b",
            username="supervisor1",
            display_name="s",
            password=PASSWORD,
            role="supervisor",
            centre_code=None,
        )
        members.assign(
            s,
            actor="b",
            username="supervisor1",
            department_id=members.by_code(s, COORDINATION).id,
        )
        self.centre_id = s.execute(
            select(Centre.id).where(Centre.region_code == "440100")
        ).scalar_one()
        venues.create_venue(s, actor="b", centre_code="440100", name="大厅", seats=20)
        self.terminal_id = terminals.register_terminal(
            s, actor="b", centre_code="440100", name="T"
        )[1].id
        self.counter = itertools.count(1)

    def one_draw(self, profile: str = "") -> tuple[float, float, float, float]:
        """Request, prepare, witness and draw one project (in this thread's session); returns
        (prepare, draw) wall-clock s and (prepare, draw) CPU s of this thread.

        With `profile` (a path prefix) prepare and draw each run under cProfile, written to
        `<profile>-prepare.prof` and `<profile>-draw.prof`, and their top entries printed.
        """
        from expertpool.accounts.models import User
        from expertpool.draws import protocol as draws
        from expertpool.draws import requests as draw_requests
        from expertpool.projects import projects
        from expertpool.projects.models import Terminal

        st = self.st
        s = st.sessions()
        n = next(self.counter)
        op = s.get(User, self.operator_id)
        term = s.get(Terminal, self.terminal_id)
        p = projects.create_project(
            s,
            actor="b",
            owner_centre_id=self.centre_id,
            data=project_payload(code=f"B-{n}"),
            now=NOW,
        )
        projects.add_bidder(s, actor="b", project_id=p.id, credit_code=credit_code(20001), name="b")
        projects.mark_ready(s, actor="b", project_id=p.id)
        req = draw_requests.create_draw_request(
            s,
            actor=op,
            terminal=term,
            project_id=p.id,
            rules=DrawRules.from_config(st.config),
            now=NOW,
            data={
                "groups": [{"specialties": ["A01"], "count": 5, "backups": 5}],
                "distinct_employers": True,
            },
        )
        t, c, w = time.perf_counter(), time.thread_time(), worker_cpu(st.cpu_pool)
        with profiled(profile and f"{profile}-prepare.prof"):
            d = draws.prepare_draw(
                s,
                actor=op,
                terminal=term,
                request_id=req.id,
                keys=st.keys,
                config=st.config,
                now=NOW,
                cpu_pool=st.cpu_pool,
            )
        prepare = time.perf_counter() - t
        prepare_cpu = time.thread_time() - c + worker_cpu(st.cpu_pool) - w
        draws.witness_operator(
            s, draw_id=d.draw_id, actor=op, terminal=term, digits=f"{n:06d}1", now=NOW
        )
        draws.witness_supervisor(
            s,
            draw_id=d.draw_id,
            terminal=term,
            username="supervisor1",
            password=PASSWORD,
            digits=f"{n:06d}2",
            now=NOW,
        )
        t, c, w = time.perf_counter(), time.thread_time(), worker_cpu(st.cpu_pool)
        with profiled(profile and f"{profile}-draw.prof"):
            d = draws.run_draw(
                s,
                draw_id=d.draw_id,
                actor=op,
                terminal=term,
                keys=st.keys,
                config=st.config,
                now=NOW,
                ctx=services_of(self.app).ctx,
                cpu_pool=st.cpu_pool,
            )
        run = time.perf_counter() - t
        run_cpu = time.thread_time() - c + worker_cpu(st.cpu_pool) - w
        assert d.status.value == "sealed", d.reason
        return prepare, run, prepare_cpu, run_cpu

    def in_thread(
        self, out: list[tuple[float, float, float, float]], errors: list[BaseException]
    ) -> None:
        """One draw in a worker thread with its own app context and session."""
        with self.app.app_context():
            try:
                out.append(self.one_draw())
            except BaseException as exc:  # reported by the caller
                errors.append(exc)
            finally:
                self.st.sessions.remove()


def main() -> None:
    """Run the benchmark and print one line per measure."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--experts", type=int, default=10_000)
    parser.add_argument("--draws", type=int, default=20, help="sequential draws timed one by one")
    parser.add_argument(
        "--concurrent", type=int, default=20, help="draws started at once in threads (0: skip)"
    )
    parser.add_argument("--database-url", default="")
    parser.add_argument(
        "--workers",
        type=int,
        default=1,
        help="draw worker processes (EXPERTPOOL_DRAW_WORKER_PROCESSES; 0: in the bench process)",
    )
    parser.add_argument(
        "--profile", default="", help="path prefix: profile the first sequential prepare and draw"
    )
    args = parser.parse_args()
    from expertpool.draws.snapshot import SnapshotWindow, build_candidates

    base = args.database_url
    url = (
        create_scratch_postgres(base)
        if base.startswith("postgresql")
        else "sqlite:///" + str(Path(tempfile.mkdtemp()) / "bench.sqlite")
    )
    try:
        app = build_app(
            bench_config(
                Path(tempfile.mkdtemp()) / "instance", url, draw_worker_processes=args.workers
            )
        )
        with app.app_context():
            st = app.extensions["expertpool"]
            s = st.sessions()
            t0 = time.perf_counter()
            load(s, args.experts, PiiCipher.from_keys(st.keys))
            print(
                f"database {make_url(url).get_backend_name()}; load {args.experts} experts: "
                f"{time.perf_counter() - t0:.1f} s"
            )
            gc.freeze()
            bench = Bench(app)
            window = SnapshotWindow(
                starts_at=NOW + timedelta(days=2),
                ends_at=NOW + timedelta(days=2, hours=4),
                now_at=NOW,
                lookback_years=3,
                frequency_window_days=90,
            )
            if st.cpu_pool is not None:
                st.cpu_pool.submit(compute.warm).result()  # as wsgi.py does at start-up
            print(f"draw worker processes: {args.workers}")
            print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
            snap, snap_cpu, draws_ = [], [], []
            for k in range(args.draws):
                t, c = time.perf_counter(), time.thread_time()
                build_candidates(s, window, tokens=ExpertTokens(bench.st.keys))
                s.commit()
                snap.append(time.perf_counter() - t)
                snap_cpu.append(time.thread_time() - c)
                draws_.append(bench.one_draw(args.profile if k == 0 else ""))
            print(summary("snapshot (7 queries -> candidates)", snap))
            print(summary("  its CPU time (this thread)", snap_cpu))
            print(
                summary("prepare (snapshot + commitment + seal + ledger)", [x[0] for x in draws_])
            )
            print(summary("  its CPU time (this thread + worker)", [x[2] for x in draws_]))
            print(
                summary(
                    "draw (last witness -> sealed record + invitations)", [x[1] for x in draws_]
                )
            )
            print(summary("  its CPU time (this thread + worker)", [x[3] for x in draws_]))
            print(
                "load average after the sequential draws: "
                f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}"
            )
            if args.concurrent:
                st.sessions.remove()
                out: list[tuple[float, float, float, float]] = []
                errors: list[BaseException] = []
                threads = [
                    threading.Thread(target=bench.in_thread, args=(out, errors))
                    for _ in range(args.concurrent)
                ]
                t, c, w = time.perf_counter(), time.process_time(), worker_cpu(st.cpu_pool)
                for th in threads:
                    th.start()
                for th in threads:
                    th.join()
                wall, cpu = time.perf_counter() - t, time.process_time() - c
                workers = worker_cpu(st.cpu_pool) - w
                if errors:
                    raise errors[0]
                print(
                    f"{args.concurrent} draws at once (request, prepare, witnesses, draw each): "
                    f"{wall:.1f} s, {len(out) / wall * 60:.1f} draws per minute"
                )
                print(
                    f"  CPU: this process {cpu:.1f} s, draw workers {workers:.1f} s "
                    f"({(cpu + workers) / wall:.2f} cores)"
                )
                print(summary("  prepare under that load", [x[0] for x in out]))
                print(summary("  draw under that load", [x[1] for x in out]))
                print(
                    "load average after the concurrent draws: "
                    f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}"
                )
            st.sessions.remove()
            st.engine.dispose()
    finally:
        if base.startswith("postgresql"):
            drop_scratch_postgres(url, base)


if __name__ == "__main__":
    main()
