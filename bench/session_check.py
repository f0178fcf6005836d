"""The cost of the login-session check every room event pays (#27 item 2).

Every Socket.IO event of the room re-reads the account and its server-side login session in one
round trip (`rooms.adapters.SessionIdentity.current_user_id`). This script times that check on
PostgreSQL against its floor, the account-only read the room made before login sessions existed
(`User.is_active` and `User.password_changed_at` by id, on the same autocommit connection path),
both in the same run, interleaved, so the ratio holds on a loaded machine.

    PYTHONPATH=. python bench/session_check.py --calls 5000
    PYTHONPATH=. python bench/session_check.py --database-url postgresql+psycopg://...
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from flask import session as flask_session
from sqlalchemy import bindparam, select

from bench.builders import bench_config, build_app, create_scratch_postgres, drop_scratch_postgres
from expertpool.accounts import logins, users
from expertpool.accounts.models import User
from expertpool.core.db import read_connection
from expertpool.rooms.adapters import SessionIdentity

_FLOOR = select(User.is_active, User.password_changed_at).where(User.id == bindparam("uid"))


def _time(call: Callable[[], object], n: int) -> list[float]:
    out = []
    for _ in range(n):
        started = time.perf_counter_ns()
        call()
        out.append((time.perf_counter_ns() - started) / 1000)
    return out


def main() -> None:
    """Build a scratch database, log one user in, time both reads."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=5000)
    parser.add_argument(
        "--database-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/test"
    )
    args = parser.parse_args()
    scratch = create_scratch_postgres(args.database_url)
    try:
        app = build_app(bench_config(Path(tempfile.mkdtemp(prefix="ep-sc-")), scratch))
        st = app.extensions["expertpool"]
        with app.app_context():
            db = st.sessions()
            user = users.create_user(
                db,
                actor="bench",
                username="member1",
                display_name="评委一",
                password="kestrel-violin-2026",
                role="expert",
            )
            for n in range(200):  # other people's sessions in the table, as on a busy day
                logins.start(db, user.id, now=datetime.now(UTC), address=None, agent=f"x{n}")
            token = logins.start(db, user.id, now=datetime.now(UTC), address=None, agent="bench")
            uid, stamp = user.id, user.password_changed_at.isoformat()
            st.sessions.remove()
        identity = SessionIdentity(
            st.sessions,
            st.engine,
            is_sqlite=False,
            timeouts=logins.Timeouts.of(
                st.config.session_idle_minutes, st.config.session_absolute_hours
            ),
        )

        def floor() -> object:
            with read_connection(st.engine) as conn:
                return conn.execute(_FLOOR, {"uid": uid}).first()

        with app.test_request_context("/socket.io/"):
            flask_session.update({"uid": uid, "sid": token, "pw": stamp})
            assert identity.current_user_id() == str(uid)
            _time(floor, 200)  # warm the pool and the plans
            _time(identity.current_user_id, 200)
            rounds = 10
            check: list[float] = []
            base: list[float] = []
            for _ in range(rounds):
                base += _time(floor, args.calls // rounds)
                check += _time(identity.current_user_id, args.calls // rounds)
    finally:
        drop_scratch_postgres(scratch, args.database_url)

    def line(label: str, values: list[float]) -> str:
        ordered = sorted(values)
        p99 = ordered[int(0.99 * (len(ordered) - 1))]
        return f"{label}: n={len(values)} p50={statistics.median(values):.0f} us p99={p99:.0f} us"

    print(line("floor (account only)", base))
    print(line("login-session check", check))
    print(f"ratio p50: {statistics.median(check) / statistics.median(base):.2f}")


if __name__ == "__main__":
    main()
