"""The CPU-bound part of a draw (draw-v1 §4-§7 over the whole snapshot), run in a worker process.

Prepare and draw spend most of their time in pure computation over 100,000 candidates: the
eligibility of §4, the pool and exclusion digests of §5 and, after the witnesses, the ranking
of §6-§7. In a web process that computation holds the interpreter lock, so twenty terminals
drawing at once share one core. `create_app` makes a process pool at start-up
(`AppState.cpu_pool`, `EXPERTPOOL_DRAW_WORKER_PROCESSES`, 0 for none) and the protocol sends
these two jobs there; without a pool they run in the calling thread. Both ways run the same
functions on the same bytes, so they give the same commitment and result
(`tests/integration/draws/test_worker_process.py`).

What crosses to the worker is only what the computation needs: the request, the snapshot
document (bytes), the secret and, for the draw, the commitment and the witnesses. No key file:
the worker neither signs nor encrypts (the web process does both with what comes back), and
nothing it receives or returns is stored or logged there.

The jobs take the columnar path of `draw.columnar` (no object per candidate); whenever it does
not apply or the outcome is a refusal, the straightforward path of `draw` runs instead and its
answer (or exact error) is the one given, as `python -m draw` does.
"""

from __future__ import annotations

import bisect
import hashlib
import logging
import multiprocessing
import threading
import zlib
from collections.abc import Callable, Sequence
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from operator import itemgetter
from typing import Any, TypeVar

import draw
from draw import columnar
from draw.allocations import own_allocations
from draw.model import require_beacon, require_secret, require_witnesses
from expertpool.draws.snapshot import (
    CANDIDATES_HEAD,
    CANDIDATES_TAIL,
    Row,
    load_snapshot_bytes,
    snapshot_document,
)

log = logging.getLogger(__name__)
T = TypeVar("T")


# The jobs (top-level functions: they are pickled by name) ------------------------------------


@dataclass(frozen=True, slots=True)
class CommitOutcome:
    """What prepare needs back: the commitment (draw-v1 JSON) or the refusal's numbers, and the
    snapshot compressed for storage."""

    commit: dict[str, Any] | None
    refused: tuple[str | None, int, int, str] | None  # scope, needed, eligible, message
    stored: bytes
    candidates: int


def commit_job(
    request: dict[str, Any], rows: Sequence[Row], secret: str, committed_at: str
) -> CommitOutcome:
    """§4-§5: the commitment of `request` over the snapshot rows (`snapshot_rows`, checked
    when they were built), and the snapshot document to store.

    The rows become columns directly (no parsing, no object per candidate); the pool digest is
    the hash of the document's candidate bytes, which are stored as they are.
    """
    req = draw.DrawRequest.from_json(request)
    with own_allocations():
        ordered = sorted(rows, key=itemgetter(0))
        document = snapshot_document(ordered)
        stored = zlib.compress(document, 1)
        try:
            if ordered:
                ids, status, available, codes, region, employer, avoid, recent = map(
                    list, zip(*ordered, strict=True)
                )
                body = document[len(CANDIDATES_HEAD) : -len(CANDIDATES_TAIL)]
                pool = columnar.Pool(
                    ids=ids,
                    status=status,
                    available=available,
                    specialties=codes,
                    region=region,
                    employer=employer,
                    avoid_orgs=avoid,
                    recent_draws=recent,
                    pieces=None,
                    digest=hashlib.sha256(body).hexdigest(),
                )
                del body
                outcome = columnar.evaluate(req, pool)
                commit = columnar.commit_for(req, outcome, secret, committed_at, None)
            else:
                commit = draw.build_commit(req, (), secret, committed_at=committed_at)
        except draw.InsufficientPool as exc:
            return CommitOutcome(
                None, (exc.scope, exc.needed, exc.eligible, exc.message), stored, len(ordered)
            )
    return CommitOutcome(commit.to_json(), None, stored, len(ordered))


@dataclass(frozen=True, slots=True)
class SelectOutcome:
    """What the draw needs back: the result (draw-v1 JSON) and the employers of everyone it
    names (for §9), or the error's code and reason."""

    result: dict[str, Any] | None
    employers: dict[str, str]
    error: tuple[str, str] | None


def select_job(
    request: dict[str, Any],
    commit: dict[str, Any],
    stored: bytes,
    secret: str,
    witnesses: Sequence[str],
) -> SelectOutcome:
    """§4-§7 after the witnesses: recompute the commitment from the stored snapshot, refuse
    when it differs, rank and select. The columnar answer is given only when it succeeds;
    otherwise the engine's own `select` decides (and names the error)."""
    try:
        req = draw.DrawRequest.from_json(request)
        com = draw.Commit.from_json(commit)
        document = zlib.decompress(stored)
        fast = _select_columnar(req, com, document, secret, witnesses)
        if fast is not None:
            return fast
        pool = load_snapshot_bytes(stored)  # any stored format, fully validated if need be
        result = draw.select(req, pool, secret, com, witnesses, None)
        named = {e for g in result.groups for e in (*g.primaries, *g.backups)}
        employers = {c.id: c.employer for c in pool if c.id in named}
        return SelectOutcome(result.to_json(), employers, None)
    except draw.DrawError as exc:
        return SelectOutcome(None, {}, (exc.code, str(exc)))
    except zlib.error as exc:
        return SelectOutcome(None, {}, ("invalid_input", f"snapshot: {exc}"))


def _select_columnar(
    req: draw.DrawRequest,
    com: draw.Commit,
    document: bytes,
    secret: str,
    witnesses: Sequence[str],
) -> SelectOutcome | None:
    """`select_job` on columns; None when anything is out of the ordinary."""
    loaded = columnar.load_with_pool(document, ascending=True)
    if loaded is None:
        return None
    pool = loaded[1]
    try:
        require_secret(secret)
        checked = require_witnesses(list(witnesses))
        beacon = require_beacon(None, com.beacon_round)
        outcome = columnar.evaluate(req, pool)
        if columnar.commit_for(req, outcome, secret, com.committed_at, com.beacon_round) != com:
            return None
        result = columnar.select(req, outcome, draw.derive_key(secret, com, checked, beacon))
    except draw.DrawError:
        return None
    employers: dict[str, str] = {}
    with own_allocations():
        for g in result.groups:
            for expert in (*g.primaries, *g.backups):
                at = bisect.bisect_left(pool.ids, expert)
                employers[expert] = pool.employer[at]
    return SelectOutcome(result.to_json(), employers, None)


# Running them ----------------------------------------------------------------------------------


def warm() -> None:
    """A job that does nothing: submitted at start-up, it starts the worker (and its imports)
    before the first draw needs it."""


class WorkerPool(ProcessPoolExecutor):
    """Worker processes for draws, started by `spawn`, with at most one job per process at a time.

    `spawn` (a fresh interpreter), not `fork`: under gunicorn's gevent worker the parent's
    monkey-patched hub, sockets and database connections must not be copied into a child. (The
    child imports the parent's main script as `__mp_main__`: gunicorn's, the bench's and
    pytest's guard their work with `if __name__ == "__main__"`.)

    One job per process at a time: under gevent the executor's feeder and result threads are
    greenlets and its pipes block the whole process while full, so a second multi-megabyte job
    written while the worker writes back the first one's answer would wait on it forever. With
    a free worker for every job sent, a job written is always being read. Callers wait for a
    free worker (a greenlet waits without blocking the others).
    """

    def __init__(self, processes: int) -> None:
        super().__init__(max_workers=processes, mp_context=multiprocessing.get_context("spawn"))
        self._slots = threading.BoundedSemaphore(processes)

    def submit(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> Future[T]:
        """Submit a job once a worker is free; the worker is free again when it has answered."""
        self._slots.acquire()
        try:
            future = super().submit(fn, *args, **kwargs)
        except BaseException:
            self._slots.release()
            raise
        future.add_done_callback(self._release)
        return future

    def _release(self, _future: Future[Any]) -> None:
        self._slots.release()


def make_cpu_pool(processes: int) -> Executor | None:
    """The worker processes for draws (None for `processes` 0: in the calling thread). They
    start on the first job (`warm` at start-up) and live as long as the web process."""
    if processes <= 0:
        return None
    return WorkerPool(processes)


def run(pool: Executor | None, job: Callable[..., T], *args: Any) -> T:
    """`job(*args)` in the pool (waiting for it), or here without one.

    A pool whose worker died answers BrokenProcessPool for good: the job then runs here, so a
    draw never fails for want of a worker (logged).
    """
    if pool is None:
        return job(*args)
    try:
        return pool.submit(job, *args).result()
    except BrokenProcessPool:
        log.warning("the draw worker process is gone: running %s in the web process", job.__name__)
        return job(*args)
