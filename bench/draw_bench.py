"""Benchmark of the draw engine: run and verify for 10k, 100k and 1M candidates (issue #4).

Usage: python bench/draw_bench.py [--gc-off] [N ...]   (default: 10000 100000 1000000)

--gc-off disables Python's cyclic garbage collector in the measuring process (as the command
line does): the draw creates millions of small acyclic objects, and the collector's repeated
scans of them cost more than the draw itself on large pools.

Each size runs in its own subprocess so that its peak RSS (resource.getrusage) is its own.
Inputs are parsed Python objects (lists and dicts), as json.loads would give them. The floor
is: sort the snapshot by id, canonically serialise it and SHA-256 it once, plus one
HMAC-SHA256 (hmac.digest) per (eligible expert, group) pair.
"""

from __future__ import annotations

import gc
import hashlib
import hmac
import json
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from draw import (
    DrawRequest,
    candidates_from_json,
    evaluate_eligibility,
    key_from_seed_hex,
    verify_transcript,
)
from draw.engine import (
    _derive_key,
    build_commit,
    build_sealed,
    build_transcript,
    select_from_eligibility,
    sign_sealed,
)
from draw.signing import public_key_b64, sign_json


def make_inputs(n: int) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """A request with 3 groups each matching about 30 % of a pool of n experts."""
    employers = [f"91440000EMP{i:05d}" for i in range(500)]
    bidders = [f"91440000BID{i:05d}" for i in range(95)] + employers[:5]  # 100 bidder orgs
    candidates = []
    for i in range(n):
        h = hashlib.sha256(i.to_bytes(8, "big")).digest()
        letter = "ABCD"[min(h[0] * 10 // 256, 9) // 3]  # A, B, C about 30 % each, D 10 %
        candidates.append(
            {
                "id": f"E{i:08d}",
                "status": "active" if h[1] > 5 else "suspended",
                "available": h[2] > 8,
                "specialties": [f"{letter}{h[3] % 20:02d}{h[4] % 10:02d}"],
                "region": f"44{h[5] % 21:02d}00",
                "employer": employers[(h[6] * 256 + h[7]) % 500] if h[8] > 20 else "",
                "avoid_orgs": [employers[h[9] % 500]] if h[10] < 30 else [],
                "recent_draws": h[11] % 8,
            }
        )
    candidates.reverse()  # the snapshot arrives in no particular order
    request = {
        "draw_id": f"BENCH-{n}",
        "project_code": "GD-2026-基准",
        "evaluation_date": "2026-12-01",
        "bidder_orgs": bidders,
        "tenderer_orgs": ["91440000TEN00001"],
        "agency_orgs": ["91440000AGE00001"],
        "excluded_experts": [f"E{i:08d}" for i in range(0, n, 997)],
        "max_recent_draws": 7,
        "distinct_employers": True,
        "groups": [
            {
                "id": "works",
                "specialties": ["A"],
                "regions_in": [],
                "regions_out": [],
                "count": 5,
                "backups": 5,
            },
            {
                "id": "goods",
                "specialties": ["B"],
                "regions_in": [],
                "regions_out": ["440100"],
                "count": 3,
                "backups": 3,
            },
            {
                "id": "cost",
                "specialties": ["C"],
                "regions_in": [],
                "regions_out": [],
                "count": 2,
                "backups": 2,
            },
        ],
    }
    return request, candidates


def timed(phases: dict[str, float], name: str, fn: Any, *args: Any, **kw: Any) -> Any:
    """Run fn, add its wall time to phases[name]."""
    start = time.perf_counter()
    value = fn(*args, **kw)
    phases[name] = phases.get(name, 0) + time.perf_counter() - start
    return value


def measure(n: int) -> dict[str, Any]:
    """Time run, verify and the floor for a pool of n."""
    request_json, pool_json = make_inputs(n)
    signer = key_from_seed_hex("42" * 32)
    secret = hashlib.sha256(b"bench").hexdigest()
    witnesses = ["12345678", "87654321"]
    run: dict[str, float] = {}
    request = timed(run, "validate", DrawRequest.from_json, request_json)
    pool = timed(run, "validate", candidates_from_json, pool_json)
    eligibility = timed(run, "eligibility", evaluate_eligibility, request, pool)
    commit = timed(
        run,
        "commit",
        build_commit,
        request,
        (),
        secret,
        committed_at="2026-11-28T09:00:00Z",
        eligibility=eligibility,
    )
    commit_sig = timed(run, "sign", sign_json, commit.to_json(), signer)
    key = _derive_key(secret, commit.digest, witnesses, None)
    result = timed(run, "select", select_from_eligibility, request, eligibility, key)
    sealed = timed(run, "seal", build_sealed, commit, witnesses, None, result, secret)
    sealed_sig = timed(run, "sign", sign_sealed, sealed, signer)
    transcript = timed(
        run,
        "transcript",
        build_transcript,
        request,
        eligibility.candidates,
        secret,
        commit,
        witnesses,
        None,
        result,
        public_key=public_key_b64(signer),
        commit_signature=commit_sig,
        sealed_signature=sealed_sig,
    )
    transcript_json = timed(run, "transcript", transcript.to_json)
    verify: dict[str, float] = {}
    failures = timed(verify, "verify", verify_transcript, transcript_json, public_key_b64(signer))
    assert failures == [], failures

    # The floor: serialise and hash the snapshot once, one HMAC per (eligible, group) pair.
    pairs = [
        b'["draw-v1/rank",0,"%s","%s"]' % (g.id.encode(), e.encode())
        for g in request.groups
        for e in eligibility.eligible[g.id]
    ]
    start = time.perf_counter()
    ordered = sorted(pool_json, key=lambda c: c["id"])
    hashlib.sha256(
        json.dumps(ordered, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    ).hexdigest()
    for message in pairs:
        hmac.digest(key, message, "sha256")
    floor = time.perf_counter() - start
    run_total = sum(run.values())
    core = run_total - run["validate"]
    return {
        "n": n,
        "eligible": {g.id: len(eligibility.eligible[g.id]) for g in request.groups},
        "excluded": len(eligibility.excluded),
        "attempt": result.attempt,
        "run_phases": {k: round(v, 3) for k, v in run.items()},
        "run_total": round(run_total, 3),
        "run_without_validation": round(core, 3),
        "verify_total": round(verify["verify"], 3),
        "floor": round(floor, 3),
        "ratio_run": round(run_total / floor, 2),
        "ratio_run_without_validation": round(core / floor, 2),
        "ratio_verify": round(verify["verify"] / floor, 2),
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024,
    }


def main(argv: list[str]) -> None:
    """Measure each size in a fresh subprocess and print one JSON line per size."""
    if argv[:1] == ["--one"]:
        if argv[2:] == ["--gc-off"]:
            gc.disable()
        print(
            json.dumps(
                {**measure(int(argv[1])), "gc": "off" if argv[2:] else "on"}, ensure_ascii=False
            )
        )
        return
    flags = [a for a in argv if a == "--gc-off"]
    for n in [int(a) for a in argv if a not in flags] or [10_000, 100_000, 1_000_000]:
        done = subprocess.run(
            [sys.executable, __file__, "--one", str(n), *flags], capture_output=True, text=True
        )
        print(done.stdout.strip() or done.stderr.strip(), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
