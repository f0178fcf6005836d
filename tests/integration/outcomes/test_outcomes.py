"""A project fails, is cancelled or is postponed after its panel was drawn and partly accepted:
bookings, invitations and the outbox's messages are checked.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from expertpool.core.calendar import CST
from expertpool.core.errors import Forbidden, ValidationFailed
from expertpool.core.models import AuditEntry
from expertpool.core.tokens import ExpertTokens
from expertpool.draws import sealing
from expertpool.draws.models import DrawInvitee, InviteeStatus
from expertpool.notifications import dispatcher as notifications
from expertpool.notifications import invitations
from expertpool.notifications.models import (
    InvitationRecord,
    InvitationState,
    OutboxKind,
    OutboxMessage,
    OutboxStatus,
)
from expertpool.notifications.notifier import services_of
from expertpool.notifications.outbox import message_body
from expertpool.outcomes import outcomes
from expertpool.projects import venues
from expertpool.projects.models import ProjectStatus, SeatBooking
from tests.integration.draws.conftest import Setup, add_experts, project_of

pytestmark = pytest.mark.integration

POOL = 12
ACCEPTING = 3
LATER = datetime(2026, 6, 8, 14, 0, tzinfo=CST)


def _drawn(s: Setup) -> tuple[Any, list[int], dict[str, int]]:
    """Draw five primaries and three backups; the first three primaries accept."""
    ids = add_experts(s.app, POOL)
    d = s.full_draw(groups=[{"specialties": ["A01"], "count": 5, "backups": 3}])
    assert d.status.value == "sealed", d.reason
    primaries = [int(e) for e in sealing.open_result(d, s.keys).group("g1").primaries]
    expert_of = ExpertTokens(s.keys).tokens(ids)  # token -> expert id
    token_of = {e: t for t, e in expert_of.items()}
    ctx = s.notify_ctx
    for expert_id in primaries[:ACCEPTING]:
        invitation = s.session.execute(
            select(InvitationRecord).where(
                InvitationRecord.draw_id == d.draw_id,
                InvitationRecord.expert_token == token_of[expert_id],
            )
        ).scalar_one()
        assert invitations.move(
            s.session, invitation, InvitationState.ACCEPTED, now=s.clock.now, ctx=ctx
        )
    s.session.commit()
    return d, primaries, expert_of


def _live_bookings(s: Setup) -> list[SeatBooking]:
    return list(
        s.session.execute(
            select(SeatBooking).where(
                SeatBooking.project_id == s.project_id, SeatBooking.released_at.is_(None)
            )
        ).scalars()
    )


def _outcome_messages(s: Setup) -> list[OutboxMessage]:
    return list(
        s.session.execute(
            select(OutboxMessage).where(OutboxMessage.kind == OutboxKind.OUTCOME_SMS)
        ).scalars()
    )


def _recipients(s: Setup, messages: list[OutboxMessage], expert_of: dict[str, int]) -> set[int]:
    out = set()
    for m in messages:
        invitation = s.session.get(InvitationRecord, m.invitation_id)
        assert invitation is not None
        out.add(expert_of[invitation.expert_token])
    return out


@pytest.mark.parametrize(
    ("outcome", "failure_kind"),
    [("failed", "too_few_bids"), ("failed", "all_rejected"), ("cancelled", None)],
)
def test_a_failed_or_cancelled_project_releases_every_booking_and_tells_the_accepted_experts(
    setup: Setup, outcome: str, failure_kind: str | None
) -> None:
    s = setup
    _d, primaries, expert_of = _drawn(s)
    assert len(_live_bookings(s)) == ACCEPTING
    outcomes.end_project(
        s.session,
        actor=s.operator,
        project_id=s.project_id,
        outcome=outcome,
        failure_kind=failure_kind,
        reason="投标人不足三家，依法重新招标",
        ctx=s.notify_ctx,
        now=s.clock.now,
    )
    s.session.expire_all()
    project = project_of(s)
    assert project.status is ProjectStatus(outcome) and project.status.is_closed
    assert _live_bookings(s) == []
    messages = _outcome_messages(s)
    assert _recipients(s, messages, expert_of) == set(primaries[:ACCEPTING])
    for m in messages:
        body = message_body(s.notify_ctx, m) or ""
        assert "评标取消" in body and "投标人" not in body
    # the experts not yet answering hear nothing more, and nobody else is invited
    open_invitations = s.session.execute(
        select(InvitationRecord).where(InvitationRecord.state == InvitationState.QUEUED)
    ).scalars()
    for invitation in open_invitations:
        pending = s.session.execute(
            select(OutboxMessage).where(
                OutboxMessage.invitation_id == invitation.id,
                OutboxMessage.status == OutboxStatus.PENDING,
                OutboxMessage.kind != OutboxKind.OUTCOME_SMS,
            )
        ).all()
        assert pending == []
    statuses = sorted(i.status.value for i in s.session.execute(select(DrawInvitee)).scalars())
    assert statuses == ["accepted"] * ACCEPTING + ["removed"] * (5 - ACCEPTING)
    # the dispatcher sends them like any other text
    s.session.commit()
    st = s.app.extensions["expertpool"]
    notifications.dispatch_once(
        st.sessions,
        services_of(s.app).notifier,
        s.clock.now + timedelta(minutes=1),
        "w1",
        200,
        ctx=s.notify_ctx,
    )
    s.session.expire_all()
    assert {m.status for m in _outcome_messages(s)} == {OutboxStatus.SENT}
    # the audit entry names the outcome and the reason, nobody on the panel
    entry = s.session.execute(
        select(AuditEntry).where(AuditEntry.action == f"project.{outcome}")
    ).scalar_one()
    assert set(json.loads(entry.after)) == {"status", "failure_kind", "reason"}


def test_the_contact_record_opens_at_the_failure_as_at_an_award(setup: Setup) -> None:
    from expertpool.draws.contact_record import draw_contact_record

    s = setup
    d, _primaries, _expert_of = _drawn(s)
    with pytest.raises(Forbidden):
        draw_contact_record(s.session, d.draw_id, ctx=s.notify_ctx, actor="auditor")
    outcomes.end_project(
        s.session,
        actor=s.operator,
        project_id=s.project_id,
        outcome="failed",
        failure_kind="all_rejected",
        reason="所有投标均被否决",
        ctx=s.notify_ctx,
        now=s.clock.now,
    )
    assert draw_contact_record(s.session, d.draw_id, ctx=s.notify_ctx, actor="auditor")


def test_a_closed_project_invites_no_backup_when_an_invitation_expires_or_is_withdrawn(
    setup: Setup,
) -> None:
    s = setup
    _d, _primaries, _expert_of = _drawn(s)
    outcomes.end_project(
        s.session,
        actor=s.operator,
        project_id=s.project_id,
        outcome="cancelled",
        reason="项目取消采购",
        ctx=s.notify_ctx,
        now=s.clock.now,
    )
    invitations.expire_overdue(s.session, now=s.clock.now + timedelta(days=1), ctx=s.notify_ctx)
    accepted = (
        s.session.execute(
            select(InvitationRecord).where(InvitationRecord.state == InvitationState.ACCEPTED)
        )
        .scalars()
        .first()
    )
    assert accepted is not None
    invitations.withdraw(
        s.session,
        accepted.id,
        reason="项目已取消",
        actor="expert",
        now=s.clock.now,
        ctx=s.notify_ctx,
    )
    s.session.commit()
    assert (
        s.session.execute(select(DrawInvitee).where(DrawInvitee.is_primary.is_(False))).all() == []
    )


def test_an_outcome_needs_a_reason_and_the_owning_centre(
    setup: Setup, make_user: Callable[..., Any]
) -> None:
    s = setup
    with pytest.raises(ValidationFailed) as refused:
        outcomes.end_project(
            s.session,
            actor=s.operator,
            project_id=s.project_id,
            outcome="failed",
            failure_kind="nonsense",
            reason="",
            ctx=s.notify_ctx,
            now=s.clock.now,
        )
    assert set(refused.value.fields) == {"failure_kind", "reason"}
    other = make_user(role="centre_staff", centre="440300")
    with pytest.raises(Forbidden):
        outcomes.end_project(
            s.session,
            actor=other,
            project_id=s.project_id,
            outcome="cancelled",
            reason="项目取消采购",
            ctx=s.notify_ctx,
            now=s.clock.now,
        )


def test_postponement_keeps_the_panel_moves_the_seats_and_tells_the_new_time(setup: Setup) -> None:
    s = setup
    _d, primaries, expert_of = _drawn(s)
    token_of = {e: t for t, e in expert_of.items()}
    busy = primaries[0]  # booked elsewhere at the new time: replaced by the first backup
    seat = venues.list_venues(s.session, centre_id=project_of(s).main_centre_id)[0].seats[-1]
    s.session.add(
        SeatBooking(
            seat_id=seat.id,
            expert_token=token_of[busy],
            starts_at=LATER - timedelta(hours=1),
            ends_at=LATER + timedelta(hours=1),
        )
    )
    s.session.commit()
    outcomes.postpone_project(
        s.session,
        actor=s.operator,
        project_id=s.project_id,
        evaluation_start="2026-06-08T14:00",
        reason="开标时间因故推迟",
        ctx=s.notify_ctx,
        now=s.clock.now,
    )
    s.session.expire_all()
    project = project_of(s)
    assert project.status is ProjectStatus.DRAWN and project.postponements == 1
    assert project.evaluation_start_at == LATER
    bookings = _live_bookings(s)
    assert len(bookings) == ACCEPTING - 1
    assert all(b.starts_at == LATER for b in bookings)
    invitees = {
        expert_of[i.expert_token]: i for i in s.session.execute(select(DrawInvitee)).scalars()
    }
    assert invitees[busy].status is InviteeStatus.UNAVAILABLE
    assert [i.status for e, i in invitees.items() if e in primaries[1:ACCEPTING]] == [
        InviteeStatus.ACCEPTED
    ] * (ACCEPTING - 1)
    backups = [i for i in invitees.values() if not i.is_primary]
    assert len(backups) == 1 and backups[0].status is InviteeStatus.INVITED
    told = _recipients(s, _outcome_messages(s), expert_of)
    assert told == set(primaries[1:])  # everyone still on the panel; not the replaced expert
    for m in _outcome_messages(s):
        body = message_body(s.notify_ctx, m) or ""
        assert "评标改期" in body and "2026年6月8日（星期一）14:00" in body
    # every draw request of the project serves the new window
    from expertpool.draws.models import DrawRequestRecord

    assert {
        r.evaluation_start_at for r in s.session.execute(select(DrawRequestRecord)).scalars()
    } == {LATER}
    # the backup's invitation carries the new time
    new_invitation = s.session.execute(
        select(InvitationRecord).where(InvitationRecord.expert_token == backups[0].expert_token)
    ).scalar_one()
    assert new_invitation.starts_at == LATER


def test_a_postponement_must_move_the_evaluation_later(setup: Setup) -> None:
    s = setup
    with pytest.raises(ValidationFailed) as refused:
        outcomes.postpone_project(
            s.session,
            actor=s.operator,
            project_id=s.project_id,
            evaluation_start="2026-06-04T09:00",
            reason="提前评标",
            ctx=s.notify_ctx,
            now=s.clock.now,
        )
    assert "evaluation_start" in refused.value.fields


def test_the_api_records_a_cancellation_for_the_owning_centre_only(
    api: Callable[..., Any], ready_project: tuple[Any, int]
) -> None:
    staff, pid = ready_project
    other = api("centre_staff", centre="440300")
    body = {"outcome": "cancelled", "reason": "采购计划取消"}
    assert other.post(f"/api/projects/{pid}/outcome", json=body).status_code == 403
    resp = staff.post(f"/api/projects/{pid}/outcome", json=body)
    assert resp.status_code == 200, resp.get_json()
    view = resp.get_json()
    assert (view["status"], view["outcome_reason"]) == ("cancelled", "采购计划取消")
    again = staff.post(f"/api/projects/{pid}/outcome", json=body)
    assert again.status_code == 409
    postponed = staff.post(
        f"/api/projects/{pid}/postpone",
        json={"evaluation_start": "2026-07-01T09:00", "reason": "顺延"},
    )
    assert postponed.status_code == 409


def test_a_draw_prepared_before_a_cancellation_no_longer_runs(setup: Setup) -> None:
    from expertpool.core.errors import Conflict

    s = setup
    add_experts(s.app, POOL)
    d = s.prepare(s.request())
    s.witness(d.draw_id)
    outcomes.end_project(
        s.session,
        actor=s.operator,
        project_id=s.project_id,
        outcome="cancelled",
        reason="项目取消采购",
        ctx=s.notify_ctx,
        now=s.clock.now,
    )
    with pytest.raises(Conflict) as refused:
        s.run(d.draw_id)
    assert refused.value.code == "project_ended"
    assert s.session.execute(select(InvitationRecord)).first() is None


def test_a_refused_outcome_on_the_page_answers_422_with_the_reason_and_changes_nothing(
    app: Any, make_user: Callable[..., Any], login: Callable[..., Any], ready_project: Any
) -> None:
    from expertpool.projects.models import Project
    from tests.conftest import csrf_token

    _, pid = ready_project
    staff = login(app.test_client(), make_user(role="centre_staff", centre="440100"))
    page = f"/projects/{pid}"
    refused = staff.post(
        f"/projects/{pid}/outcome",
        data={"csrf_token": csrf_token(staff, page), "outcome": "cancelled", "reason": ""},
    )
    assert refused.status_code == 422
    # The reason is on the page the staff member is on, in the interface's language.
    assert "请填写原因（5 至 2000 字）" in refused.get_data(as_text=True)
    session = app.extensions["expertpool"].sessions()
    assert session.get(Project, pid).status is ProjectStatus.READY
