"""Special projects: a direct appointment needs a written reason and another person's approval, and
is logged as not drawn.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from expertpool.core.errors import Conflict, Forbidden, ValidationFailed
from expertpool.core.models import AuditEntry
from expertpool.core.tokens import ExpertTokens
from expertpool.projects import appointments
from expertpool.projects.models import AppointmentStatus, SeatBooking
from tests.integration.draws.conftest import BIDDERS, NOW, Setup, add_experts

pytestmark = pytest.mark.integration

REASON = "涉密项目，招标人依法直接确定具备保密资质的专家"


def _mark(setup: Setup, *, special: bool, approved: bool) -> None:
    from expertpool.projects import projects
    from expertpool.projects.models import Project

    project = setup.session.get(Project, setup.project_id)
    project.is_special, project.special_reason = special, REASON if special else ""
    project.special_approved_by = project.special_approved_at = None
    setup.session.commit()
    if approved:
        projects.approve_special(
            setup.session,
            actor=setup.supervisor,
            project_id=setup.project_id,
            now=NOW,
        )


@pytest.fixture()
def setup(setup: Setup) -> Setup:
    """The drawn setup's project, marked special with its written reason, approved by the
    supervisor (the ordinary-project tests undo it).
    """
    _mark(setup, special=True, approved=True)
    return setup


def test_an_ordinary_project_cannot_appoint_experts_directly(setup: Setup) -> None:
    _mark(setup, special=False, approved=False)
    (expert_id,) = add_experts(setup.app, 1)
    with pytest.raises(Conflict) as refused:
        appointments.request_appointment(
            setup.session,
            actor=setup.operator,
            project_id=setup.project_id,
            expert_id=expert_id,
            reason=REASON,
            keys=setup.keys,
            now=NOW,
        )
    assert refused.value.code == "not_special"


def test_a_special_project_waits_for_the_approval_of_its_reason(setup: Setup) -> None:
    _mark(setup, special=True, approved=False)
    (expert_id,) = add_experts(setup.app, 1)
    with pytest.raises(Conflict) as refused:
        appointments.request_appointment(
            setup.session,
            actor=setup.operator,
            project_id=setup.project_id,
            expert_id=expert_id,
            reason=REASON,
            keys=setup.keys,
            now=NOW,
        )
    assert refused.value.code == "not_special"


def test_an_approved_appointment_holds_a_seat_and_is_logged_as_not_drawn(setup: Setup) -> None:
    (expert_id,) = add_experts(setup.app, 1)
    row = appointments.request_appointment(
        setup.session,
        actor=setup.operator,
        project_id=setup.project_id,
        expert_id=expert_id,
        reason=REASON,
        keys=setup.keys,
        now=NOW,
    )
    assert row.status is AppointmentStatus.REQUESTED and row.seat_booking_id is None
    row = appointments.decide(
        setup.session,
        actor=setup.supervisor,
        appointment_id=row.id,
        approve=True,
        note="同意",
        now=NOW,
        keys=setup.keys,
    )
    assert row.status is AppointmentStatus.APPROVED
    booking = setup.session.get(SeatBooking, row.seat_booking_id)
    assert (
        booking is not None
        and booking.expert_token == ExpertTokens(setup.keys).token(expert_id)
        and booking.project_id == setup.project_id
    )
    logged = (
        setup.session.execute(
            select(AuditEntry)
            .where(AuditEntry.action.like("appointment.%"))
            .order_by(AuditEntry.id)
        )
        .scalars()
        .all()
    )
    assert [e.action for e in logged] == ["appointment.requested", "appointment.approved"]
    assert all('"drawn":false' in e.after for e in logged)
    assert REASON in logged[0].after


def test_an_appointment_without_a_written_reason_or_of_a_bidders_employee_is_refused(
    setup: Setup,
) -> None:
    (plain,) = add_experts(setup.app, 1)
    (employee,) = add_experts(setup.app, 1, start=2, employer=lambda n: BIDDERS[0])
    with pytest.raises(ValidationFailed) as short:
        appointments.request_appointment(
            setup.session,
            actor=setup.operator,
            project_id=setup.project_id,
            expert_id=plain,
            reason="需要",
            keys=setup.keys,
            now=NOW,
        )
    assert "reason" in short.value.fields
    with pytest.raises(ValidationFailed) as conflict:
        appointments.request_appointment(
            setup.session,
            actor=setup.operator,
            project_id=setup.project_id,
            expert_id=employee,
            reason=REASON,
            keys=setup.keys,
            now=NOW,
        )
    assert "expert" in conflict.value.fields
    assert appointments.appointments_for(setup.session, setup.project_id) == []


def test_only_another_person_who_is_a_supervisor_decides_and_only_once(setup: Setup) -> None:
    (expert_id,) = add_experts(setup.app, 1)
    row = appointments.request_appointment(
        setup.session,
        actor=setup.operator,
        project_id=setup.project_id,
        expert_id=expert_id,
        reason=REASON,
        keys=setup.keys,
        now=NOW,
    )
    with pytest.raises(Forbidden):
        appointments.decide(
            setup.session,
            actor=setup.operator,
            appointment_id=row.id,
            approve=True,
            note="",
            now=NOW,
            keys=setup.keys,
        )
    appointments.decide(
        setup.session,
        actor=setup.supervisor,
        appointment_id=row.id,
        approve=False,
        note="理由不充分",
        now=NOW,
        keys=setup.keys,
    )
    with pytest.raises(Conflict):
        appointments.decide(
            setup.session,
            actor=setup.supervisor,
            appointment_id=row.id,
            approve=True,
            note="",
            now=NOW,
            keys=setup.keys,
        )
    assert setup.session.execute(select(SeatBooking)).first() is None
    with pytest.raises(Conflict):
        appointments.request_appointment(
            setup.session,
            actor=setup.operator,
            project_id=setup.project_id,
            expert_id=expert_id,
            reason=REASON,
            keys=setup.keys,
            now=NOW,
        )


def test_an_appointed_expert_is_not_booked_twice_and_the_approval_does_not_say_so(
    setup: Setup,
) -> None:
    from expertpool.projects import projects
    from tests.integration.projects.conftest import project_payload

    (expert_id,) = add_experts(setup.app, 1)
    other = projects.create_project(
        setup.session,
        actor="test",
        owner_centre_id=setup.operator.centre_id,
        data=project_payload(
            code="GZ-2026-002", main_centre="440100", is_special=True, special_reason=REASON
        ),
        now=NOW,
    )
    projects.approve_special(
        setup.session,
        actor=setup.supervisor,
        project_id=other.id,
        now=NOW,
    )
    rows = [
        appointments.request_appointment(
            setup.session,
            actor=setup.operator,
            project_id=p,
            expert_id=expert_id,
            reason=REASON,
            keys=setup.keys,
            now=NOW,
        )
        for p in (setup.project_id, other.id)
    ]
    appointments.decide(
        setup.session,
        actor=setup.supervisor,
        appointment_id=rows[0].id,
        approve=True,
        note="",
        now=NOW,
        keys=setup.keys,
    )
    # The expert is booked at that time (by the first project here; by a sealed draw it could be):
    # the approval answers exactly as for a free expert, and no second seat is held.
    second = appointments.decide(
        setup.session,
        actor=setup.supervisor,
        appointment_id=rows[1].id,
        approve=True,
        note="",
        now=NOW,
        keys=setup.keys,
    )
    assert second.status is AppointmentStatus.APPROVED and second.seat_booking_id is None
    token = ExpertTokens(setup.keys).token(expert_id)
    live = (
        setup.session.execute(
            select(SeatBooking).where(
                SeatBooking.expert_token == token, SeatBooking.released_at.is_(None)
            )
        )
        .scalars()
        .all()
    )
    assert [b.id for b in live] == [rows[0].seat_booking_id]


def test_staff_record_and_a_supervisor_approves_an_appointment_on_the_project_page(
    setup: Setup,
) -> None:
    from tests.conftest import csrf_token, login_client

    (expert_id,) = add_experts(setup.app, 1)
    staff = login_client(setup.app.test_client(), setup.operator)
    url = f"/projects/{setup.project_id}/appointments"
    assert "appointments-link" in staff.get(f"/projects/{setup.project_id}").get_data(as_text=True)
    refused = staff.post(
        url,
        data={"csrf_token": csrf_token(staff, url), "expert_id": str(expert_id), "reason": "短"},
    )
    assert refused.status_code == 422 and "书面理由" in refused.get_data(as_text=True)
    done = staff.post(
        url,
        data={"csrf_token": csrf_token(staff, url), "expert_id": str(expert_id), "reason": REASON},
    )
    assert done.status_code == 302
    (row,) = appointments.appointments_for(setup.session, setup.project_id)
    supervisor = login_client(setup.app.test_client(), setup.supervisor)
    page = supervisor.get(url).get_data(as_text=True)
    assert REASON in page and "非抽取" in page
    decided = supervisor.post(
        f"/appointments/{row.id}/decide",
        data={"csrf_token": csrf_token(supervisor, url), "decision": "approve", "note": "同意"},
    )
    assert decided.status_code == 302
    setup.session.expire_all()
    assert (
        appointments.appointments_for(setup.session, setup.project_id)[0].status
        is AppointmentStatus.APPROVED
    )


def test_only_a_supervisor_approves_a_special_project_and_a_new_reason_needs_a_new_approval(
    setup: Setup, client: Any, login: Any, make_user: Any
) -> None:
    from expertpool.projects import projects
    from expertpool.projects.models import Project
    from tests.conftest import csrf_token

    _mark(setup, special=True, approved=False)
    with pytest.raises(Forbidden):
        projects.approve_special(
            setup.session, actor=setup.operator, project_id=setup.project_id, now=NOW
        )
    # A supervisor of another region's department may not approve it either.
    outsider = make_user(role="supervisor", department="440300-coordination")
    with pytest.raises(Forbidden):
        projects.approve_special(
            setup.session, actor=outsider, project_id=setup.project_id, now=NOW
        )
    setup.session.rollback()
    login(client, setup.supervisor)
    token = csrf_token(client, f"/projects/{setup.project_id}")
    resp = client.post(f"/projects/{setup.project_id}/special/approve", data={"csrf_token": token})
    assert resp.status_code == 302
    setup.session.expire_all()
    project = setup.session.get(Project, setup.project_id)
    assert project.special_approved_by == setup.supervisor.username
    data = projects.project_view(project)
    data.update(
        evaluation_start=data["evaluation_start_at"],
        tenderer_code=data["tenderer"]["code"],
        tenderer_name=data["tenderer"]["name"],
        agency_code=data["agency"]["code"],
        agency_name=data["agency"]["name"],
        special_reason=REASON + "（补充）",
    )
    projects.update_project(
        setup.session, actor="staff", project_id=setup.project_id, data=data, now=NOW
    )
    setup.session.expire_all()
    assert setup.session.get(Project, setup.project_id).special_approved_by is None


def test_an_appointment_row_and_its_audit_entries_name_no_expert_in_clear(setup: Setup) -> None:
    from sqlalchemy import text

    (expert_id,) = add_experts(setup.app, 1, start=4321)
    row = appointments.request_appointment(
        setup.session,
        actor=setup.operator,
        project_id=setup.project_id,
        expert_id=expert_id,
        reason=REASON,
        keys=setup.keys,
        now=NOW,
    )
    appointments.decide(
        setup.session,
        actor=setup.supervisor,
        appointment_id=row.id,
        approve=True,
        note="同意",
        now=NOW,
        keys=setup.keys,
    )
    columns = set(setup.session.execute(text("SELECT * FROM appointment LIMIT 0")).keys())
    assert "expert_id" not in columns
    token, ref = setup.session.execute(
        text("SELECT expert_token, expert_ref FROM appointment WHERE id = :i"), {"i": row.id}
    ).one()
    assert token == ExpertTokens(setup.keys).token(expert_id)
    assert bytes(ref) != str(expert_id).encode() and len(bytes(ref)) > 16  # AES-GCM sealed
    entries = setup.session.execute(
        text("SELECT after FROM audit_entry WHERE action LIKE 'appointment.%'")
    ).scalars()
    pseudonym = ExpertTokens(setup.keys).pseudonym(f"appointment:{setup.project_id}", expert_id)
    for after in entries:
        assert "expert_id" not in after and f'"expert":"{pseudonym}"' in after
    # The application still reads who it is, with the key files.
    assert appointments.expert_of(row, setup.keys) == expert_id
