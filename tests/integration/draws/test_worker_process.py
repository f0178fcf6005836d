"""A draw's CPU-bound part in a worker process gives the very bytes it gives in the web process.

`draws/compute.py` runs §4-§7 in `AppState.cpu_pool` (a process pool made at start-up) or, without
one, in the calling thread. Both must give the same commitment, result, sealed record and
transcript for the same inputs, and the same as the engine's straightforward path; and the pool
must work under gevent as deployed (gunicorn -k gevent), without stopping the other greenlets
while a draw is computed.
"""

from __future__ import annotations

import random
import subprocess
import sys
import textwrap
import zlib
from collections.abc import Iterator
from concurrent.futures import Executor
from pathlib import Path
from typing import Any

import pytest

import draw
from expertpool.draws import compute, sealing
from expertpool.draws import protocol as draws
from expertpool.draws.models import DrawStatus
from expertpool.draws.snapshot import Row, load_snapshot_bytes, snapshot_document
from tests.conftest import PASSWORD
from tests.integration.draws.conftest import EVALUATION, Setup, add_experts

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[3]
SECRET = "ab" * 32
WITNESSES = ["314159", "271828"]
COMMITTED_AT = "2026-06-03T01:00:00Z"


@pytest.fixture(scope="module")
def cpu_pool() -> Iterator[Executor]:
    """One worker process, as `create_app` makes it (spawned, not forked)."""
    pool = compute.make_cpu_pool(1)
    assert pool is not None
    yield pool
    pool.shutdown()


def _rows(rng: random.Random, n: int) -> list[Row]:
    """A generated pool: statuses, leave, specialties, regions, employers, avoidances and
    recent draws of varied shapes (ids as the database makes them: "10" sorts before "2")."""
    statuses = ["active"] * 6 + ["suspended", "conflict", "not_qualified_for_regime"]
    codes = ["A01", "A0101", "A0102", "B02", "B0201", "C03"]
    regions = ["440100", "440300", "440600", "none"]
    out: list[Row] = []
    for i in range(1, n + 1):
        out.append(
            (
                str(i),
                rng.choice(statuses),
                rng.random() > 0.1,
                tuple(sorted(set(rng.sample(codes, rng.randint(0, 3))))),
                rng.choice(regions),
                rng.choice(["", "EMP1", "EMP2", "EMP3", "BID1", f"EMP{i}"]),
                tuple(sorted(set(rng.sample(["BID1", "TEN1", "ORG9"], rng.randint(0, 2))))),
                rng.choice([0, 0, 0, 1, 2, 5]),
            )
        )
    return out


def _request(rng: random.Random, n: int) -> dict[str, Any]:
    groups = [
        {
            "id": "g1",
            "specialties": ["A01"],
            "regions_in": [],
            "regions_out": rng.choice([[], ["440600"]]),
            "count": 3,
            "backups": rng.randint(0, 4),
        },
        {
            "id": "g2",
            "specialties": rng.choice([["B"], ["B02", "C03"]]),
            "regions_in": rng.choice([[], ["440100", "440300"]]),
            "regions_out": [],
            "count": 2,
            "backups": 2,
        },
    ]
    return {
        "draw_id": f"D-worker-{n}",
        "project_code": "GD-2026-测试",
        "evaluation_date": "2026-06-05",
        "bidder_orgs": ["BID1"],
        "tenderer_orgs": ["TEN1"],
        "agency_orgs": [],
        "excluded_experts": sorted(rng.sample([str(i) for i in range(1, n + 1)], 3)),
        "max_recent_draws": rng.choice([None, 2]),
        "distinct_employers": rng.random() < 0.5,
        "groups": groups[: rng.randint(1, 2)],
    }


def _straightforward(request: dict[str, Any], rows: list[Row]) -> tuple[Any, Any, dict[str, str]]:
    """The engine's own path on `Candidate` objects: commit, result and employers."""
    req = draw.DrawRequest.from_json(request)
    pool = draw.candidates_from_json(
        [
            {
                "id": r[0],
                "status": r[1],
                "available": r[2],
                "specialties": list(r[3]),
                "region": r[4],
                "employer": r[5],
                "avoid_orgs": list(r[6]),
                "recent_draws": r[7],
            }
            for r in rows
        ]
    )
    try:
        commit = draw.build_commit(req, pool, SECRET, committed_at=COMMITTED_AT)
    except draw.InsufficientPool as exc:
        return ("refused", exc.scope, exc.needed, exc.eligible), None, {}
    try:
        result = draw.select(req, pool, SECRET, commit, WITNESSES, None)
    except draw.Infeasible as exc:
        return commit.to_json(), (exc.code, str(exc)), {}
    named = {e for g in result.groups for e in (*g.primaries, *g.backups)}
    return commit.to_json(), result.to_json(), {c.id: c.employer for c in pool if c.id in named}


@pytest.mark.parametrize("seed", range(6))
def test_the_jobs_give_the_same_bytes_in_a_worker_process_here_and_on_the_engines_path(
    cpu_pool: Executor, seed: int
) -> None:
    rng = random.Random(seed)
    n = rng.choice([12, 40, 150, 700])
    rows = _rows(rng, n)
    request = _request(rng, n)
    here = compute.run(None, compute.commit_job, request, rows, SECRET, COMMITTED_AT)
    there = compute.run(cpu_pool, compute.commit_job, request, rows, SECRET, COMMITTED_AT)
    assert here == there
    assert zlib.decompress(here.stored) == snapshot_document(sorted(rows))
    commit, result, employers = _straightforward(request, rows)
    if here.commit is None:
        assert here.refused is not None and ("refused", *here.refused[:3]) == commit
        return
    assert here.commit == commit
    args = (request, here.commit, here.stored, SECRET, WITNESSES)
    selected_here = compute.run(None, compute.select_job, *args)
    selected_there = compute.run(cpu_pool, compute.select_job, *args)
    assert selected_here == selected_there
    if isinstance(result, tuple):  # infeasible: the engine's own message
        assert selected_here.error == result
    else:
        assert selected_here.result == result and selected_here.employers == employers


def _open_and_export(setup: Setup, draw_id: str) -> dict[str, Any]:
    setup.clock.now = EVALUATION
    draws.open_draw(
        setup.session,
        draw_id=draw_id,
        actor=setup.operator,
        supervisor_username=setup.supervisor.username,
        supervisor_password=PASSWORD,
        keys=setup.keys,
        now=setup.clock.now,
    )
    return draws.transcript(setup.session, draw_id=draw_id, actor="auditor", keys=setup.keys)


def test_a_draw_through_the_worker_process_seals_what_the_web_process_would(
    setup: Setup, cpu_pool: Executor
) -> None:
    add_experts(setup.app, 30)
    add_experts(setup.app, 5, start=31, employer=lambda n: "91440100MA5000001X")
    d = draws.prepare_draw(
        setup.session,
        actor=setup.operator,
        terminal=setup.terminal,
        request_id=setup.request(distinct_employers=True),
        keys=setup.keys,
        config=setup.config,
        now=setup.clock.now,
        cpu_pool=cpu_pool,
    )
    setup.witness(d.draw_id)
    d = draws.run_draw(
        setup.session,
        draw_id=d.draw_id,
        actor=setup.operator,
        terminal=setup.terminal,
        keys=setup.keys,
        config=setup.config,
        now=setup.clock.now,
        ctx=setup.notify_ctx,
        cpu_pool=cpu_pool,
    )
    assert d.status is DrawStatus.SEALED, d.reason
    # The same inputs in this process: the same commitment, result and sealed record.
    request = sealing.open_request(d, setup.keys)
    commit = sealing.open_commit(d, setup.keys)
    stored = sealing.open_snapshot(d, setup.keys)
    secret = sealing.open_secret(d, setup.keys)
    sealed = sealing.open_sealed(d, setup.keys) or {}
    rows = [
        (
            c.id,
            c.status,
            c.available,
            c.specialties,
            c.region,
            c.employer,
            c.avoid_orgs,
            c.recent_draws,
        )
        for c in load_snapshot_bytes(stored)
    ]
    again = compute.run(None, compute.commit_job, request, rows, secret, commit["committed_at"])
    assert again.commit == commit and again.stored == stored
    here = compute.run(
        None, compute.select_job, request, commit, stored, secret, sealed["witnesses"]
    )
    result = sealing.open_result(d, setup.keys)
    assert here.result == result.to_json()
    rebuilt = draw.build_sealed(
        draw.Commit.from_json(commit), sealed["witnesses"], None, result, secret
    )
    assert draw.canonical_json(rebuilt.to_json()) == draw.canonical_json(sealed)
    # And the transcript released after opening verifies offline as any other.
    transcript = _open_and_export(setup, d.draw_id)
    assert draw.verify_transcript(transcript, setup.keys.draw_public_keys()[d.key_id]) == []


GEVENT_SCRIPT = textwrap.dedent(
    """
    from gevent import monkey
    monkey.patch_all()
    import random, sys, gevent
    sys.path.insert(0, sys.argv[1])
    from expertpool.draws import compute
    from tests.integration.draws.test_worker_process import (
        COMMITTED_AT, SECRET, _request, _rows,
    )

    rng = random.Random(3)
    rows = _rows(rng, 20000)  # jobs and answers far larger than a pipe's buffer
    request = _request(rng, 20000)
    pool = compute.make_cpu_pool(1)
    ticks = []

    def ticker():
        while True:
            ticks.append(1)
            gevent.sleep(0.005)

    compute.run(pool, compute.warm)  # the worker started, as wsgi.py does

    background = gevent.spawn(ticker)
    jobs = [
        gevent.spawn(compute.run, pool, compute.commit_job, request, rows, SECRET, COMMITTED_AT)
        for _ in range(3)
    ]
    gevent.joinall(jobs, raise_error=True)
    background.kill()
    here = compute.commit_job(request, rows, SECRET, COMMITTED_AT)
    assert all(job.value == here for job in jobs), "the worker answered differently"
    print("ticks", len(ticks))
    pool.shutdown()
    """
)


def test_the_worker_pool_works_under_gevent_without_stopping_the_other_greenlets() -> None:
    done = subprocess.run(
        [sys.executable, "-c", GEVENT_SCRIPT, str(ROOT)],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    # Three jobs take well over 50 ms; the ticker ran meanwhile.
    assert int(done.stdout.split()[-1]) > 10, done.stdout
