"""Who may be drawn is decided from dated facts on the evaluation day, not from today's status
(issue #22): leave by its dates, suspensions by their end, the age cap and the term on that day.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from expertpool.draws import protocol, sealing
from expertpool.draws.snapshot import SnapshotWindow, build_candidates, expert_key
from expertpool.experts.models import Expert, ExpertLeave, ExpertStatus
from tests.integration.draws.conftest import EVALUATION, NOW, Setup, add_experts

pytestmark = pytest.mark.integration

TODAY = date(2026, 6, 3)  # NOW, in China Standard Time
EVALUATION_DAY = date(2026, 6, 5)


def _pool(s: Setup) -> dict[str, object]:
    window = SnapshotWindow(
        starts_at=EVALUATION,
        ends_at=EVALUATION + timedelta(hours=4),
        now_at=NOW,
        lookback_years=3,
        frequency_window_days=90,
        age_cap=s.config.age_cap,
    )
    return {c.id: c for c in build_candidates(s.session, window, sealed_facts=False)}


def test_an_expert_on_leave_today_is_drawn_for_an_evaluation_after_the_leave(setup: Setup) -> None:
    """The regression: status `on_leave` today excluded the expert from later draws."""
    s = setup
    ids = add_experts(s.app, 5)
    back = s.session.get(Expert, ids[0])
    back.status = ExpertStatus.ON_LEAVE
    back.leaves.append(ExpertLeave(start_on=TODAY - timedelta(days=2), end_on=TODAY))
    s.session.commit()
    # five seats, five experts: the draw succeeds only if the one on leave today counts
    d = s.full_draw(groups=[{"specialties": ["A01"], "count": 5, "backups": 0}])
    assert d.status.value == "sealed", d.reason
    drawn = set(sealing.open_result(d, s.keys).group("g1").primaries)
    assert expert_key(back.id) in drawn


def test_leave_that_covers_the_evaluation_day_makes_the_expert_unavailable(setup: Setup) -> None:
    s = setup
    ids = add_experts(s.app, 2)
    s.session.add(ExpertLeave(expert_id=ids[0], start_on=EVALUATION_DAY, end_on=EVALUATION_DAY))
    s.session.commit()  # still `active` today: the leave starts later
    pool = _pool(s)
    assert pool[expert_key(ids[0])].available is False
    assert pool[expert_key(ids[0])].status == "active"
    assert pool[expert_key(ids[1])].available is True


@pytest.mark.parametrize(
    ("facts", "standing"),
    [
        (
            {"status": ExpertStatus.SUSPENDED, "suspended_until": TODAY + timedelta(days=1)},
            "active",
        ),
        ({"status": ExpertStatus.SUSPENDED, "suspended_until": EVALUATION_DAY}, "suspended"),
        ({"status": ExpertStatus.SUSPENDED, "suspended_until": None}, "suspended"),
        ({"term_ends_on": EVALUATION_DAY - timedelta(days=1)}, "term_expired"),
        ({"term_ends_on": EVALUATION_DAY}, "active"),
        ({"birth_date": date(1956, 6, 5)}, "retired"),  # 70 on the evaluation day
        ({"birth_date": date(1956, 6, 6)}, "active"),
        ({"status": ExpertStatus.RETIRED}, "retired"),
    ],
)
def test_the_snapshot_status_is_the_experts_standing_on_the_evaluation_day(
    setup: Setup, facts: dict[str, object], standing: str
) -> None:
    s = setup
    (expert_id,) = add_experts(s.app, 1)
    expert = s.session.get(Expert, expert_id)
    for name, value in facts.items():
        setattr(expert, name, value)
    s.session.commit()
    assert _pool(s)[expert_key(expert_id)].status == standing


def test_the_preview_counts_an_expired_term_as_not_active(setup: Setup) -> None:
    s = setup
    ids = add_experts(s.app, 6)
    s.session.get(Expert, ids[0]).term_ends_on = TODAY
    s.session.commit()
    request_id = s.request(groups=[{"specialties": ["A01"], "count": 5, "backups": 0}])
    preview = protocol.preview(s.session, request_id=request_id, config=s.config, now=s.clock.now)
    assert preview.excluded["not_active"] == 1
