"""Benchmark: the CPU-bound part of prepare and draw at the terminal, before and after #30.

Usage: python bench/draw_terminal_parts.py [--experts 100000] [--rounds 3]

No database: a generated pool of snapshot rows (as `draws.snapshot.snapshot_rows` returns them)
goes through what prepare and draw do with it besides the queries and the writes, the way the
code before #30 did it and the way it does now, alternately in the same process, so that both
see the same machine load. Times are CPU seconds of this process (`process_time`); the ratio
before/after is the figure to read on a shared machine.

- prepare, before: `Candidate` objects from the rows, `draw.prepare_commit`'s §4-§5
  (`evaluate_eligibility`, `build_commit`), `dump_snapshot` (json + zlib);
- prepare, after: `compute.commit_job` (columns from the rows, the document by orjson, columnar
  §4-§5, zlib);
- draw, before: `load_snapshot_bytes` of the rows format and `draw.select`;
- draw, after: `compute.select_job` on the stored document.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import draw
from expertpool.draws import compute
from expertpool.draws.snapshot import (
    Row,
    dump_snapshot,
    load_snapshot_bytes,
    no_gc,
    trusted_candidate,
)

SECRET = "ab" * 32
WITNESSES = ["314159", "271828"]
COMMITTED_AT = "2026-06-03T01:00:00Z"


def rows(n: int) -> list[Row]:
    """A pool shaped like the protocol benchmark's: 1-3 specialties under A01 of about 60
    codes, five regions, 5,000 employers, a past employer each, every tenth a relative's
    organisation, every 25th on leave."""
    rng = random.Random(7)
    codes = [f"A01{i:02d}" for i in range(1, 61)]
    regions = ["440100", "440300", "440600", "441900", "442000"]
    out: list[Row] = []
    for i in range(1, n + 1):
        avoid = {f"ORG{20000 + i % 7000}"} | ({f"ORG{30000 + i % 3000}"} if i % 10 == 0 else set())
        out.append(
            (
                str(i),
                "active",
                i % 25 != 0,
                tuple(sorted(rng.sample(codes, rng.randint(1, 3)))),
                rng.choice(regions),
                f"EMP{1000 + i % 5000}",
                tuple(sorted(avoid)),
                0,
            )
        )
    return out


REQUEST: dict[str, Any] = {
    "draw_id": "D20260603-P1-bench",
    "project_code": "B-1",
    "evaluation_date": "2026-06-05",
    "bidder_orgs": ["ORG20001"],
    "tenderer_orgs": ["EMP1001"],
    "agency_orgs": ["EMP1002"],
    "excluded_experts": [],
    "max_recent_draws": None,
    "distinct_employers": True,
    "groups": [
        {
            "id": "g1",
            "specialties": ["A01"],
            "regions_in": [],
            "regions_out": [],
            "count": 5,
            "backups": 5,
        }
    ],
}


def cpu(fn: Callable[..., Any], *args: Any) -> tuple[float, Any]:
    """CPU seconds of `fn(*args)` and its value."""
    start = time.process_time()
    value = fn(*args)
    return time.process_time() - start, value


def draw_before(request: draw.DrawRequest, stored: bytes, commit: draw.Commit) -> Any:
    """The draw's engine part as before #30: rebuild the candidates, `draw.select`."""
    with no_gc():
        return draw.select(request, load_snapshot_bytes(stored), SECRET, commit, WITNESSES, None)


def main() -> None:
    """Alternate before and after, print CPU seconds per part and the ratios."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--experts", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    pool_rows = rows(args.experts)
    request = draw.DrawRequest.from_json(REQUEST)
    signer = draw.key_from_seed_hex("11" * 32)
    times: dict[str, list[float]] = {k: [] for k in ("pb", "pa", "db", "da")}
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    for _ in range(args.rounds):

        def prepare_before() -> tuple[Any, bytes]:
            with no_gc():
                pool = list(map(trusted_candidate, pool_rows))
                prepared = draw.prepare_commit(
                    request, pool, SECRET, signer, committed_at=COMMITTED_AT
                )
                return prepared.commit, dump_snapshot(pool)

        t, (commit_b, stored_b) = cpu(prepare_before)
        times["pb"].append(t)

        def prepare_after() -> compute.CommitOutcome:
            return compute.commit_job(REQUEST, pool_rows, SECRET, COMMITTED_AT)

        t, outcome = cpu(prepare_after)
        times["pa"].append(t)
        assert outcome.commit == commit_b.to_json(), "the commitments differ"

        t, result_b = cpu(draw_before, request, stored_b, commit_b)
        times["db"].append(t)
        t, selected = cpu(
            compute.select_job, REQUEST, outcome.commit, outcome.stored, SECRET, WITNESSES
        )
        times["da"].append(t)
        assert selected.result == result_b.to_json(), "the results differ"
    med = {k: statistics.median(v) for k, v in times.items()}
    print(f"{args.experts} candidates, {args.rounds} rounds (CPU s, median; all rounds)")
    for name, b, a in (("prepare", "pb", "pa"), ("draw", "db", "da")):
        print(
            f"{name}: before {med[b]:.3f} s {[round(x, 3) for x in times[b]]}, after "
            f"{med[a]:.3f} s {[round(x, 3) for x in times[a]]}, before/after {med[b] / med[a]:.2f}"
        )
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
