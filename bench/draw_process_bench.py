"""Whole-process benchmark of `python -m draw run` and `verify`, as an auditor runs them (#30).

Usage: python bench/draw_process_bench.py [--code DIR] [--keep DIR] [N ...]
       (default sizes: 100000 1000000)

For each size the input of `bench/draw_bench.py` (`make_inputs`) is written as a compact JSON
run input (what an exporter writes), then `python -m draw run` and `python -m draw verify`
each run in a fresh process; wall time and that process's peak RSS (os.wait4) are reported
with the floor of `bench/draw_bench.py` measured in this process in the same run (sort the
snapshot by id, canonically serialise and SHA-256 it, one HMAC-SHA256 per (eligible expert,
group) pair) and the 1-minute load average before each step.

--code DIR runs the draw package found in DIR (e.g. a checkout of an older commit) to compare.
Byte code is cached under the work directory (PYTHONPYCACHEPREFIX), as for installed code.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.draw_bench import make_inputs  # noqa: E402
from draw import evaluate_eligibility, load_json  # noqa: E402
from draw.engine import _derive_key  # noqa: E402
from draw.model import Candidate, DrawRequest  # noqa: E402


def timed_process(argv: list[str], env: dict[str, str], stdout: Any, cwd: Path) -> dict[str, Any]:
    """Run a command under /usr/bin/time: wall and CPU (user + system) seconds, peak RSS in MB
    and the exit code. (os.wait4 would report the RSS of this process's fork before exec.)
    """
    with tempfile.NamedTemporaryFile("r") as report:
        child = subprocess.run(
            ["/usr/bin/time", "-o", report.name, "-f", "%e %U %S %M", *argv],
            env=env,
            stdout=stdout,
            stderr=subprocess.PIPE,
            cwd=cwd,  # not the repository: `-m draw` would find ./draw before PYTHONPATH
        )
        wall, user, system, peak_kb = report.read().split()[-4:]
    if child.returncode != 0:
        sys.stderr.write(child.stderr.decode("utf-8", "replace"))
    return {
        "wall": float(wall),
        "cpu": round(float(user) + float(system), 2),
        "peak_mb": int(peak_kb) // 1024,
        "exit": child.returncode,
    }


def floor(transcript: dict[str, Any]) -> tuple[float, float]:
    """The floor of bench/draw_bench.py on the pool and key of this transcript: wall and CPU
    seconds.
    """
    request = DrawRequest.from_json(transcript["request"])
    pool_json = transcript["candidates"]
    eligibility = evaluate_eligibility(request, [Candidate.from_json(c) for c in pool_json])
    key = _derive_key(
        transcript["secret"],
        hashlib.sha256(
            json.dumps(
                transcript["commit"], sort_keys=True, separators=(",", ":"), ensure_ascii=False
            ).encode()
        ).hexdigest(),
        transcript["witnesses"],
        transcript["beacon"],
    )
    pairs = [
        b'["draw-v1/rank",0,"%s","%s"]' % (g.id.encode(), e.encode())
        for g in request.groups
        for e in eligibility.eligible[g.id]
    ]
    shuffled = list(reversed(pool_json))
    start = time.perf_counter()
    cpu = time.process_time()
    ordered = sorted(shuffled, key=lambda c: c["id"])
    hashlib.sha256(
        json.dumps(ordered, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    ).hexdigest()
    for message in pairs:
        hmac.digest(key, message, "sha256")
    return time.perf_counter() - start, time.process_time() - cpu


def measure(n: int, code: Path, work: Path) -> dict[str, Any]:
    """Run and verify a pool of n in fresh processes; the floor in this one."""
    request, candidates = make_inputs(n)
    run_input = {
        "request": request,
        "candidates": candidates,
        "secret": hashlib.sha256(b"bench").hexdigest(),
        "witnesses": ["12345678", "87654321"],
        "beacon_round": None,
        "beacon": None,
        "committed_at": "2026-11-28T09:00:00Z",
    }
    source = work / f"run-{n}.json"
    source.write_text(
        json.dumps(run_input, separators=(",", ":"), ensure_ascii=False), encoding="utf-8"
    )
    del run_input, request, candidates
    key = work / "signing.key"
    key.write_text("42" * 32)
    out = work / f"transcript-{n}.json"
    # As installed code runs: compiled once (.pyc kept, in a cache outside the source tree),
    # not recompiled by every process as PYTHONDONTWRITEBYTECODE would make it.
    env = {
        **{k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"},
        "PYTHONPATH": str(code),
        "PYTHONPYCACHEPREFIX": str(work / "pycache"),
    }
    python = sys.executable
    warm = subprocess.run(
        [python, "-c", "import draw.cli; print(draw.cli.__file__)"],
        env=env,
        cwd=work,
        check=True,
        capture_output=True,
        text=True,
    )
    assert warm.stdout.startswith(str(code)), warm.stdout
    load_run = os.getloadavg()[0]
    with out.open("wb") as sink:
        run = timed_process(
            [python, "-m", "draw", "run", str(source), "--signing-key", str(key)], env, sink, work
        )
    load_verify = os.getloadavg()[0]
    verify = timed_process(
        [python, "-m", "draw", "verify", str(out)], env, subprocess.DEVNULL, work
    )
    transcript = load_json(out.read_bytes())
    load_floor = os.getloadavg()[0]
    floor_wall, floor_cpu = floor(transcript)
    return {
        "n": n,
        "code": str(code),
        "run": run,
        "verify": verify,
        "floor": {"wall": round(floor_wall, 3), "cpu": round(floor_cpu, 3)},
        "run_over_floor": {
            "wall": round(run["wall"] / floor_wall, 2),
            "cpu": round(run["cpu"] / floor_cpu, 2),
        },
        "verify_over_floor": {
            "wall": round(verify["wall"] / floor_wall, 2),
            "cpu": round(verify["cpu"] / floor_cpu, 2),
        },
        "load_1min": [round(x, 2) for x in (load_run, load_verify, load_floor)],
        "transcript_sha256": hashlib.sha256(out.read_bytes()).hexdigest(),
    }


def main(argv: list[str]) -> None:
    """Measure each size and print one JSON line per size."""
    code = ROOT
    keep: Path | None = None
    sizes: list[int] = []
    args = iter(argv)
    for arg in args:
        if arg == "--code":
            code = Path(next(args)).resolve()
        elif arg == "--keep":
            keep = Path(next(args)).resolve()
        else:
            sizes.append(int(arg))
    with tempfile.TemporaryDirectory() as scratch:
        work = keep or Path(scratch)
        work.mkdir(parents=True, exist_ok=True)
        for n in sizes or [100_000, 1_000_000]:
            print(json.dumps(measure(n, code, work)), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
