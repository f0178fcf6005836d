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
    SnapshotWindow,
    build_candidates,
    dump_snapshot,
    employers_in_snapshot,
    load_snapshot_bytes,
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


def test_a_stored_row_out_of_form_makes_the_draw_fail_with_its_reason(setup: Setup) -> None:
    add_experts(setup.app, 9)
    d = setup.prepare(setup.request())
    doc = json.loads(zlib.decompress(sealing.open_snapshot(d, setup.keys)))
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
    doc = json.loads(zlib.decompress(sealing.open_snapshot(d, setup.keys)))
    doc["rows"][0][7] = 1
    d.snapshot = sealing.seal_record(
        d, setup.keys, "snapshot", zlib.compress(json.dumps(doc).encode())
    )
    setup.session.commit()
    setup.witness(d.draw_id)
    d = setup.run(d.draw_id)
    assert d.status is DrawStatus.FAILED and "pool_digest" in (d.reason or "")
    assert draws.get_draw(setup.session, d.draw_id).result_enc is None
