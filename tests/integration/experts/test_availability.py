"""Leave calendar, daily maintenance, staff search and key rotation."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from expertpool.cli import PII_TABLES
from expertpool.core import pii
from expertpool.core.db import utcnow
from expertpool.core.errors import ValidationFailed
from expertpool.core.models import AuditEntry
from expertpool.experts import availability, identity, records, review
from expertpool.experts import search as expert_search
from expertpool.experts.models import Expert, ExpertStatus
from expertpool.notifications.notifier import services_of

pytestmark = pytest.mark.integration
TODAY = utcnow().date()


@pytest.fixture()
def active(db_session: Any, applicant: Any, make_user: Any) -> Any:
    """Factory: an approved expert; returns (user, expert)."""
    reviewer = make_user(role="reviewer")

    def make(**overrides: Any) -> tuple[Any, Any]:
        user, expert = applicant(**overrides)
        review.decide(db_session, reviewer=reviewer, expert_id=expert.id, decision="approve")
        return user, expert

    return make


def test_leave_rejects_reversed_overlapping_and_past_ranges(db_session: Any, active: Any) -> None:
    user, expert = active()
    d = TODAY + timedelta(days=10)
    availability.declare_leave(
        db_session, actor=user, expert_id=expert.id, start_on=d, end_on=d + timedelta(days=5)
    )
    cases = [
        (d + timedelta(days=20), d + timedelta(days=19), "end_on"),
        (d + timedelta(days=5), d + timedelta(days=8), "start_on"),
        (d - timedelta(days=3), d, "start_on"),
        (TODAY - timedelta(days=9), TODAY - timedelta(days=2), "end_on"),
        (None, d, "start_on"),
    ]
    for start, end, field in cases:
        with pytest.raises(ValidationFailed) as info:
            availability.declare_leave(
                db_session, actor=user, expert_id=expert.id, start_on=start, end_on=end
            )
        assert field in info.value.fields, (start, end)
    db_session.expire_all()
    assert len(db_session.get(Expert, expert.id).leaves) == 1


def test_leave_starting_today_puts_the_expert_on_leave_and_maintenance_ends_it(
    db_session: Any, active: Any, cfg: Any
) -> None:
    user, expert = active()
    availability.declare_leave(
        db_session, actor=user, expert_id=expert.id, start_on=TODAY, end_on=TODAY
    )
    assert expert.status is ExpertStatus.ON_LEAVE
    report = availability.run_maintenance(db_session, config=cfg, today=TODAY + timedelta(days=1))
    assert report.leave_ended == 1
    db_session.expire_all()
    assert db_session.get(Expert, expert.id).status is ExpertStatus.ACTIVE


def test_maintenance_starts_leave_retires_at_the_cap_and_ends_suspensions(
    db_session: Any, active: Any, make_user: Any, cfg: Any
) -> None:
    u1, on_leave_soon = active()
    availability.declare_leave(
        db_session,
        actor=u1,
        expert_id=on_leave_soon.id,
        start_on=TODAY + timedelta(days=2),
        end_on=TODAY + timedelta(days=4),
    )
    _, old = active(id_number=identity.make_id_number("440103", date(TODAY.year - 69, 1, 1), 7))
    _, suspended = active()
    review.change_status(
        db_session,
        actor=make_user(role="supervisor"),
        expert_id=suspended.id,
        target="suspended",
        reason="未参加继续教育",
        until=TODAY + timedelta(days=1),
    )
    later = date(TODAY.year + 1, 1, 2)
    report = availability.run_maintenance(db_session, config=cfg, today=TODAY + timedelta(days=3))
    assert (report.leave_started, report.suspensions_ended, report.retired) == (1, 1, 0)
    report = availability.run_maintenance(db_session, config=cfg, today=later)
    assert report.retired == 1 and report.leave_ended == 1
    db_session.expire_all()
    statuses = {e.id: e.status for e in db_session.execute(select(Expert)).scalars()}
    assert statuses == {
        on_leave_soon.id: ExpertStatus.ACTIVE,
        old.id: ExpertStatus.RETIRED,
        suspended.id: ExpertStatus.ACTIVE,
    }
    actions = list(
        db_session.execute(
            select(AuditEntry.action).where(AuditEntry.action.like("maintenance.%"))
        ).scalars()
    )
    assert sorted(actions) == [
        "maintenance.leave_ended",
        "maintenance.leave_started",
        "maintenance.retired",
        "maintenance.suspensions_ended",
    ]


def test_search_filters_by_prefix_city_status_title_and_name_with_counts(
    db_session: Any, active: Any, applicant: Any
) -> None:
    _, a = active(specialties=["A010102"], home_region="440100", name="王大")
    _, b = active(specialties=["A010103", "A010104"], home_region="440300", name="王二")
    applicant(specialties=["A010102"], home_region="440100", name="李三")
    page = expert_search.search(db_session, specialty="A0101", city="440100", status="active")
    assert [e.id for e in page.items] == [a.id]
    assert page.by_specialty == [("A010102", 1)] and page.by_city == [("440100", 1)]
    assert expert_search.search(db_session, specialty="a0101").total == 3
    assert expert_search.search(db_session, name="王").total == 2
    assert expert_search.search(db_session, title="高级工程师").total == 3
    every = expert_search.search(db_session, specialty="A0101")
    assert dict(every.by_city) == {"440100": 2, "440300": 1}
    assert dict(every.by_specialty)["A010102"] == 2
    paged = expert_search.search(db_session, per_page=2, page=2)
    assert (paged.total, paged.pages, len(paged.items)) == (3, 2, 1)
    assert b.id in {e.id for e in expert_search.search(db_session, specialty="A010104").items}


def test_key_rotation_reencrypts_every_value_and_keeps_them_readable(
    app: Any, db_session: Any, applicant: Any, cipher: Any
) -> None:
    _, expert = applicant()
    clear = records.clear_pii(expert, cipher)
    keys = app.extensions["expertpool"].keys
    new_id = keys.rotate_pii()
    rotated = pii.PiiCipher.from_keys(keys)
    assert pii.rotate_all(db_session, rotated, PII_TABLES) == 2
    db_session.expire_all()
    row = db_session.get(Expert, expert.id)
    assert rotated.key_id_of(row.id_number_enc) == new_id == rotated.key_id_of(row.phone_enc)
    assert records.clear_pii(row, rotated) == clear
    assert row.version == expert.version
    assert records.find_by_id_number(db_session, rotated, clear["id_number"]).id == expert.id
    assert [e.id for e in records.find_by_phone(db_session, rotated, clear["phone"])] == [expert.id]


def test_key_rotation_also_reencrypts_invitations_and_outbox_messages(
    app: Any, db_session: Any, applicant: Any, cipher: Any
) -> None:
    from datetime import UTC, datetime

    from sqlalchemy import select

    from expertpool.notifications import invitations
    from expertpool.notifications.models import InvitationRecord, OutboxMessage

    _, expert = applicant()
    invitation = invitations.enqueue_invitation(
        db_session,
        draw_id="d-rot",
        group_id="g1",
        expert_id=expert.id,
        rank=1,
        phone="+8613812340001",
        expert_name="王五",
        starts_at=datetime(2026, 12, 1, 1, 0, tzinfo=UTC),
        venue="广州中心一号厅",
        ctx=services_of(app).ctx,
    )
    db_session.commit()
    keys = app.extensions["expertpool"].keys
    new_id = keys.rotate_pii()
    rotated = pii.PiiCipher.from_keys(keys)
    messages = list(db_session.execute(select(OutboxMessage)).scalars())
    # The invitation's name and phone, the expert record's ID number and phone, and every
    # message's encrypted number, body and (since #28) its kind and parameters.
    expected = (
        2
        + 2
        + sum(
            (m.to_encrypted is not None)
            + (m.body_encrypted is not None)
            + (m.message_encrypted is not None)
            for m in messages
        )
    )
    assert pii.rotate_all(db_session, rotated, PII_TABLES) == expected
    db_session.expire_all()
    row = db_session.get(InvitationRecord, invitation.id)
    assert rotated.key_id_of(row.name_encrypted) == new_id == rotated.key_id_of(row.phone_encrypted)
    assert (
        rotated.decrypt(row.phone_encrypted, table="invitation", row_id=row.id, column="phone")
        == "+8613812340001"
    )
    for m in db_session.execute(select(OutboxMessage)).scalars():
        assert rotated.key_id_of(m.to_encrypted) == new_id
