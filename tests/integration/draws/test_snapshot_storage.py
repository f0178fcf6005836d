"""The candidate snapshot is built and stored without re-validation, yet stays exactly what the
engine accepts.
"""

from __future__ import annotations

import json
import zlib
from datetime import timedelta

import pytest

import draw
from expertpool.core.tokens import ExpertTokens
from expertpool.draws import protocol as draws
from expertpool.draws import sealing
from expertpool.draws.models import DrawStatus
from expertpool.draws.snapshot import (
    CANDIDATES_FORMAT,
    SnapshotWindow,
    build_candidates,
    dump_snapshot,
    employers_in_snapshot,
    load_snapshot_bytes,
    snapshot_document,
    snapshot_rows,
)
from expertpool.experts.models import ExpertStatus
from tests.integration.draws.conftest import EVALUATION, NOW, Setup, add_experts

pytestmark = pytest.mark.integration


def _window() -> SnapshotWindow:
    return SnapshotWindow(
        starts_at=EVALUATION,
        ends_at=EVALUATION + timedelta(hours=4),
        now_at=NOW,
        lookback_years=3,
        frequency_window_days=90,
    )


def _validated(pool: object) -> tuple[draw.Candidate, ...]:
    return draw.candidates_from_json([c.to_json() for c in pool])  # type: ignore[attr-defined]


def test_candidates_built_from_the_database_equal_the_engines_validated_candidates(
    setup: Setup,
) -> None:
    add_experts(setup.app, 6)
    add_experts(
        setup.app,
        3,
        start=7,
        region="44 01",
        employer=lambda n: None,
        status=ExpertStatus.SUSPENDED,
    )
    pool = build_candidates(setup.session, _window(), tokens=ExpertTokens(setup.keys))
    assert len(pool) == 9
    assert tuple(pool) == _validated(pool)
    assert all(type(c.specialties) is tuple and type(c.avoid_orgs) is tuple for c in pool)
    assert {c.region for c in pool[6:]} == {"none"} and {c.employer for c in pool[6:]} == {""}


def test_the_stored_snapshot_reloads_as_the_same_candidates_and_employers(setup: Setup) -> None:
    add_experts(setup.app, 5)
    pool = build_candidates(setup.session, _window(), tokens=ExpertTokens(setup.keys))
    raw = dump_snapshot(list(reversed(pool)))
    reloaded = load_snapshot_bytes(raw)
    assert reloaded == tuple(pool) == _validated(reloaded)
    assert employers_in_snapshot(raw) == {c.id: c.employer for c in pool}
    # The older format (an array of candidate objects) still loads, through full validation.
    old = zlib.compress(draw.canonical_json([c.to_json() for c in pool]))
    assert load_snapshot_bytes(old) == tuple(pool)
    assert employers_in_snapshot(old) == employers_in_snapshot(raw)


def test_the_stored_document_is_the_canonical_candidates_the_pool_digest_hashes(
    setup: Setup,
) -> None:
    add_experts(setup.app, 12)
    rows = snapshot_rows(setup.session, _window(), tokens=ExpertTokens(setup.keys))
    document = snapshot_document(list(reversed(rows)))
    pool = build_candidates(setup.session, _window(), tokens=ExpertTokens(setup.keys))
    ordered = sorted(pool, key=lambda c: c.id)  # "10" < "2": draw-v1 orders ids as text
    assert document == draw.canonical_json(
        {"candidates": [c.to_json() for c in ordered], "format": CANDIDATES_FORMAT}
    )
    assert load_snapshot_bytes(zlib.compress(document)) == tuple(ordered)
    assert employers_in_snapshot(zlib.compress(document)) == {c.id: c.employer for c in pool}


def _restore(setup: Setup, d: object, doc: object) -> None:
    d.snapshot = sealing.seal_record(  # type: ignore[attr-defined]
        d,  # type: ignore[arg-type]
        setup.keys,
        "snapshot",
        zlib.compress(json.dumps(doc, separators=(",", ":"), sort_keys=True).encode()),
    )
    setup.session.commit()


def test_a_stored_candidate_out_of_form_makes_the_draw_fail_with_its_reason(
    setup: Setup,
) -> None:
    add_experts(setup.app, 9)
    d = setup.prepare(setup.request())
    doc = json.loads(zlib.decompress(sealing.open_snapshot(d, setup.keys)))
    doc["candidates"][0]["recent_draws"] = "3"  # must be an integer
    _restore(setup, d, doc)
    setup.witness(d.draw_id)
    d = setup.run(d.draw_id)
    assert d.status is DrawStatus.FAILED and "snapshot" in (d.reason or "")
    assert "recent_draws" in (d.reason or "")


def test_a_stored_candidate_with_another_value_is_refused_by_the_pool_digest(
    setup: Setup,
) -> None:
    add_experts(setup.app, 9)
    d = setup.prepare(setup.request())
    doc = json.loads(zlib.decompress(sealing.open_snapshot(d, setup.keys)))
    doc["candidates"][0]["recent_draws"] = 1
    _restore(setup, d, doc)
    setup.witness(d.draw_id)
    d = setup.run(d.draw_id)
    assert d.status is DrawStatus.FAILED and "pool_digest" in (d.reason or "")
    assert draws.get_draw(setup.session, d.draw_id).result_enc is None


def _rows_format(setup: Setup, d: object) -> dict:  # type: ignore[type-arg]
    """The draw's snapshot stored again in the format of before #30 (one row per candidate)."""
    pool = load_snapshot_bytes(sealing.open_snapshot(d, setup.keys))  # type: ignore[arg-type]
    return json.loads(zlib.decompress(dump_snapshot(list(pool))))  # type: ignore[no-any-return]


def test_a_draw_prepared_before_30_still_runs_from_its_rows(setup: Setup) -> None:
    add_experts(setup.app, 9)
    d = setup.prepare(setup.request())
    _restore(setup, d, _rows_format(setup, d))
    setup.witness(d.draw_id)
    d = setup.run(d.draw_id)
    assert d.status is DrawStatus.SEALED, d.reason


def test_a_stored_row_out_of_form_makes_the_draw_fail_with_its_reason(setup: Setup) -> None:
    add_experts(setup.app, 9)
    d = setup.prepare(setup.request())
    doc = _rows_format(setup, d)
    doc["rows"][0][7] = "3"  # recent_draws must be an integer
    d.snapshot = sealing.seal_record(
        d, setup.keys, "snapshot", zlib.compress(json.dumps(doc).encode())
    )
    setup.session.commit()
    setup.witness(d.draw_id)
    d = setup.run(d.draw_id)
    assert d.status is DrawStatus.FAILED and "snapshot" in (d.reason or "")


def test_a_stored_row_with_another_value_is_refused_by_the_pool_digest(setup: Setup) -> None:
    add_experts(setup.app, 9)
    d = setup.prepare(setup.request())
    doc = _rows_format(setup, d)
    doc["rows"][0][7] = 1
    d.snapshot = sealing.seal_record(
        d, setup.keys, "snapshot", zlib.compress(json.dumps(doc).encode())
    )
    setup.session.commit()
    setup.witness(d.draw_id)
    d = setup.run(d.draw_id)
    assert d.status is DrawStatus.FAILED and "pool_digest" in (d.reason or "")
    assert draws.get_draw(setup.session, d.draw_id).result_enc is None
