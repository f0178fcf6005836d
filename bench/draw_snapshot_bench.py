"""Benchmark: candidate snapshot, prepare (snapshot + commitment) and draw on a large pool.

Usage: python bench/draw_snapshot_bench.py --experts 100000 [--database-url postgresql+psycopg://...]
Creates a scratch database (PostgreSQL) or file (SQLite), bulk-loads experts with specialties,
employments, avoidances and leave, then times each step over a few repetitions.
"""

from __future__ import annotations

import argparse
import gc
import random
import statistics
import tempfile
import time
from datetime import date, datetime, timedelta
from pathlib import Path

from sqlalchemy import insert, select

from expertpool.models import (
    Centre,
    Expert,
    ExpertAvoidance,
    ExpertEmployment,
    ExpertLeave,
    ExpertSpecialty,
    Specialty,
)
from expertpool.services.draw_rules import CST, DrawRules
from tests.conftest import (
    build_app,
    create_scratch_postgres,
    drop_scratch_postgres,
    make_test_config,
)
from tests.integration.projects.conftest import credit_code, project_payload

NOW = datetime(2026, 6, 3, 9, 0, tzinfo=CST)


def load(session: object, n: int) -> None:
    """Bulk-insert n active experts with 1-3 specialties, one past employment, some avoidance and leave."""
    rng = random.Random(7)
    codes = [c for c in session.execute(select(Specialty.code).where(Specialty.code.like("A01%"))).scalars()  # type: ignore[attr-defined]
             if len(c) >= 5]
    regions = ["440100", "440300", "440600", "441900", "442000"]
    experts, specs, jobs, avoid, leave = [], [], [], [], []
    for i in range(1, n + 1):
        experts.append({"id": i, "name": f"专家{i}", "status": "active", "home_region": rng.choice(regions),
                        "employer_code": credit_code(1000 + i % 5000), "employer_name": "x", "version": 1})
        for code in rng.sample(codes, rng.randint(1, 3)):
            specs.append({"expert_id": i, "code": code})
        jobs.append({"expert_id": i, "org_code": credit_code(20000 + i % 7000), "org_name": "x",
                     "start_on": date(2015, 1, 1), "end_on": date(2024, 1, 1)})
        if i % 10 == 0:
            avoid.append({"expert_id": i, "org_code": credit_code(30000 + i % 3000), "org_name": "x",
                          "kind": "relative"})
        if i % 25 == 0:
            leave.append({"expert_id": i, "start_on": date(2026, 6, 4), "end_on": date(2026, 6, 6), "reason": ""})
    for model, rows in ((Expert, experts), (ExpertSpecialty, specs), (ExpertEmployment, jobs),
                        (ExpertAvoidance, avoid), (ExpertLeave, leave)):
        for k in range(0, len(rows), 5000):
            session.execute(insert(model), rows[k:k + 5000])  # type: ignore[attr-defined]
    session.commit()  # type: ignore[attr-defined]


def main() -> None:
    """Run the benchmark and print one line per measure."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--experts", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--database-url", default="")
    args = parser.parse_args()
    from expertpool.models import Terminal, User  # noqa: F401  (models registered)
    from expertpool.services import draw_requests, draws, projects, terminals, users
    from expertpool.services.draw_snapshot import SnapshotWindow, build_candidates

    base = args.database_url
    url = create_scratch_postgres(base) if base.startswith("postgresql") else \
        "sqlite:///" + str(Path(tempfile.mkdtemp()) / "bench.sqlite")
    try:
        app = build_app(make_test_config(Path(tempfile.mkdtemp()) / "instance", url))
        with app.app_context():
            st = app.extensions["expertpool"]
            s = st.sessions()
            t0 = time.perf_counter()
            load(s, args.experts)
            print(f"load {args.experts} experts: {time.perf_counter() - t0:.1f} s")
            gc.freeze()
            op = users.create_user(s, actor="b", username="operator1", display_name="o", password="password-123",
                                   role="centre_staff", centre_code="440100")
            users.create_user(s, actor="b", username="supervisor1", display_name="s", password="password-123",
                              role="supervisor", centre_code=None)
            centre_id = s.execute(select(Centre.id).where(Centre.region_code == "440100")).scalar_one()
            _tok, term = terminals.register_terminal(s, actor="b", centre_code="440100", name="T")
            window = SnapshotWindow(starts_at=NOW + timedelta(days=2), ends_at=NOW + timedelta(days=2, hours=4),
                                    now_at=NOW, lookback_years=3, frequency_window_days=90)
            snap, prep, run = [], [], []
            for r in range(args.repeat):
                t = time.perf_counter()
                build_candidates(s, window)
                snap.append(time.perf_counter() - t)
                p = projects.create_project(s, actor="b", owner_centre_id=centre_id,
                                            data=project_payload(code=f"B-{r}"), now=NOW)
                projects.add_bidder(s, actor="b", project_id=p.id, credit_code=credit_code(20001), name="b")
                projects.mark_ready(s, actor="b", project_id=p.id)
                req = draw_requests.create_draw_request(
                    s, actor=op, terminal=term, project_id=p.id, rules=DrawRules.from_config(st.config), now=NOW,
                    data={"groups": [{"specialties": ["A01"], "count": 5, "backups": 5}], "distinct_employers": True})
                t = time.perf_counter()
                d = draws.prepare_draw(s, actor=op, terminal=term, request_id=req.id, keys=st.keys,
                                       config=st.config, now=NOW)
                prep.append(time.perf_counter() - t)
                draws.witness_operator(s, draw_id=d.draw_id, actor=op, terminal=term, digits="123456", now=NOW)
                draws.witness_supervisor(s, draw_id=d.draw_id, terminal=term, username="supervisor1",
                                         password="password-123", digits="654321", now=NOW)
                t = time.perf_counter()
                d = draws.run_draw(s, draw_id=d.draw_id, actor=op, terminal=term, keys=st.keys, config=st.config,
                                   now=NOW)
                run.append(time.perf_counter() - t)
                assert d.status.value == "sealed", d.reason
            for name, xs in (("snapshot", snap), ("prepare (snapshot+commit)", prep), ("draw (seal+invite)", run)):
                print(f"{name}: median {statistics.median(xs):.2f} s, max {max(xs):.2f} s over {len(xs)}")
            st.sessions.remove()
            st.engine.dispose()
    finally:
        if base.startswith("postgresql"):
            drop_scratch_postgres(url, base)


if __name__ == "__main__":
    main()
