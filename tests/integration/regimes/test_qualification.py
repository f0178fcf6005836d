"""Qualification paths per regime in the draw: an expert qualified only under another regime's
path enters the snapshot with a status other than `active`, so draw-v1 excludes them.
"""

from __future__ import annotations

import pytest

from expertpool.draws import protocol, sealing
from expertpool.draws import requests as draw_requests
from expertpool.draws.snapshot import (
    NOT_QUALIFIED,
    SnapshotWindow,
    build_candidates,
    expert_key,
)
from expertpool.experts.models import Expert, TitleLevel
from expertpool.projects import projects
from expertpool.regimes.models import LegalRegime
from tests.integration.draws.conftest import Setup, add_experts, project_of

pytestmark = pytest.mark.integration

POOL = 12
EQUIVALENT = 3  # the first three hold an equivalent professional level, not a senior title


def _levels(s: Setup) -> list[int]:
    ids = add_experts(s.app, POOL)
    for n, expert_id in enumerate(ids):
        expert = s.session.get(Expert, expert_id)
        expert.title_level = TitleLevel.EQUIVALENT if n < EQUIVALENT else TitleLevel.DEPUTY_SENIOR
        expert.years_experience = 12
    s.session.commit()
    return ids


@pytest.mark.parametrize(
    ("regime", "excluded"),
    [(LegalRegime.TENDERING_LAW, 0), (LegalRegime.LAND, EQUIVALENT)],
)
def test_an_expert_qualified_only_under_another_regime_is_excluded_by_status(
    setup: Setup, regime: LegalRegime, excluded: int
) -> None:
    s = setup
    ids = _levels(s)
    project = project_of(s)
    project.regime = regime
    s.session.commit()
    request_id = s.request(groups=[{"specialties": ["A01"], "count": 5, "backups": 0}])
    preview = protocol.preview(s.session, request_id=request_id, config=s.config, now=s.clock.now)
    assert preview.excluded["not_active"] == excluded
    rules = projects.project_rules(s.session, project)
    req = draw_requests.get_request(s.session, request_id)
    window = SnapshotWindow(
        starts_at=req.evaluation_start_at,
        ends_at=req.evaluation_end_at,
        now_at=s.clock.now,
        lookback_years=s.config.conflict_lookback_years,
        frequency_window_days=req.frequency_window_days,
    )
    pool = build_candidates(s.session, window, sealed_facts=False, is_qualified=rules.is_qualified)
    not_qualified = {c.id for c in pool if c.status == NOT_QUALIFIED}
    assert not_qualified == {expert_key(i) for i in ids[:excluded]}
    # the expert records themselves stay active
    assert {s.session.get(Expert, i).status.value for i in ids} == {"active"}


def test_a_land_draw_never_picks_an_expert_qualified_only_by_an_equivalent_level(
    setup: Setup,
) -> None:
    s = setup
    ids = _levels(s)
    project = project_of(s)
    project.regime = LegalRegime.LAND
    s.session.commit()
    d = s.full_draw(groups=[{"specialties": ["A01"], "count": 5, "backups": 4}])
    assert d.status.value == "sealed", d.reason
    group = sealing.open_result(d, s.keys).group("g1")
    drawn = {int(e) for e in (*group.primaries, *group.backups)}
    assert drawn == set(ids[EQUIVALENT:])  # all nine qualified experts, none of the three others
