"""Benchmark: generate N experts, time staff search (specialty prefix + city) and submissions per
second.

Usage: python bench/expert_search.py --experts 100000 [--database-url URL] [--queries 200]
A scratch instance folder is used; with PostgreSQL pass a dedicated empty database. Generation time
includes the statistics refresh after the bulk load (ANALYZE; VACUUM ANALYZE on PostgreSQL).
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from expertpool.accounts.models import User, UserRole
from expertpool.app import create_app
from expertpool.core import migrate
from expertpool.core.config import Config
from expertpool.core.pii import PiiCipher
from expertpool.demo import experts as expert_demo
from expertpool.experts import applications, evidence, identity
from expertpool.experts import search as expert_search
from expertpool.reference import catalogue as reference

PDF = b"%PDF-1.4\n%%EOF\n"


def main() -> None:
    """Run the benchmark and print the figures."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--experts", type=int, default=100_000)
    ap.add_argument("--database-url", default="")
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--submissions", type=int, default=200)
    args = ap.parse_args()
    instance = tempfile.mkdtemp(prefix="bench-experts-")
    app = create_app(
        Config(instance_path=instance, database_url=args.database_url, secret_key="b" * 32)
    )
    st = app.extensions["expertpool"]
    st.keys.init()
    migrate.upgrade(st.engine, keys=st.keys)
    with app.app_context():
        s = st.sessions()
        reference.load_regions(s, reference.bundled("regions-guangdong.json"))
        reference.load_specialties(s, reference.bundled("specialties.json"))
        cipher = PiiCipher.from_keys(st.keys)
        t0 = time.perf_counter()
        expert_demo.create_experts(s, cipher=cipher, count=args.experts, seed=1)
        gen = (
            time.perf_counter() - t0
        )  # includes ANALYZE (and VACUUM on PostgreSQL) of the loaded tables
        print(
            f"database: {st.engine.dialect.name}; experts: {args.experts}; generation: {gen:.1f} "
            f"s; load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}"
        )
        rng = random.Random(5)
        cities = ["440100", "440300", "440606", "441900", "440500", "445200"]
        prefixes = ["A01", "A0101", "A02", "B", "C01", "A010102"]
        for counts in (False, True):
            times = []
            for _ in range(args.queries):
                q0 = time.perf_counter()
                expert_search.search(
                    s,
                    specialty=rng.choice(prefixes),
                    city=rng.choice(cities),
                    status="active",
                    with_counts=counts,
                )
                times.append((time.perf_counter() - q0) * 1000)
            times.sort()
            p50, p95 = statistics.median(times), times[int(len(times) * 0.95) - 1]
            print(
                f"search specialty-prefix+city (counts={counts}): p50 {p50:.1f} ms, p95 {p95:.1f} "
                f"ms over {args.queries} queries"
            )
        # For information (not the figure): the same prefixes across all cities, with
        # counts.
        times = []
        for _ in range(max(1, args.queries // 4)):
            q0 = time.perf_counter()
            expert_search.search(s, specialty=rng.choice(prefixes), status="active")
            times.append((time.perf_counter() - q0) * 1000)
        times.sort()
        print(
            "search specialty-prefix, all cities (counts=True): p50 "
            f"{statistics.median(times):.1f} ms, p95 "
            f"{times[max(0, int(len(times) * 0.95) - 1)]:.1f} ms over {len(times)} queries"
        )
        people = []
        for i in range(args.submissions):
            user = User(
                username=f"bench{i}", display_name="x", password_hash="x", role=UserRole.EXPERT
            )
            s.add(user)
            people.append(user)
        s.commit()
        data = {
            "name": "测试",
            "phone": "13800000000",
            "email": "a@b.cn",
            "title": "高级工程师",
            "title_level": "deputy_senior",
            "years_experience": 20,
            "specialties": ["A010102"],
            "home_region": "440100",
            "employer_code": "91440101MA59ABCD0" + "",
            "employer_name": "单位",
            "consent": True,
        }

        data["employer_code"] = identity.make_credit_code("91440101MA59ABCD0")
        t0 = time.perf_counter()
        for i, user in enumerate(people):
            e = applications.ensure_record(s, user)
            body = dict(
                data,
                id_number=identity.make_id_number(
                    "440183", __import__("datetime").date(1960 + i % 30, 1 + i % 12, 1 + i % 28), i
                ),
            )
            applications.save_draft(
                s, cipher=cipher, config=st.config, actor=user, expert_id=e.id, data=body
            )
            evidence.add_evidence(
                s,
                config=st.config,
                files=st.files,
                actor=user,
                expert_id=e.id,
                filename="a.pdf",
                data=PDF,
            )
            applications.submit(s, cipher=cipher, config=st.config, actor=user, expert_id=e.id)
        dt = time.perf_counter() - t0
        print(
            "applications (create, save, evidence, submit) per second, one thread: "
            f"{len(people) / dt:.1f}"
        )


if __name__ == "__main__":
    main()
