"""Replacement mid-session: the main venue's host proposes taking a member off and a supervisor
of the session approves; the member's draw group calls its next backup in rank order; once that
backup accepts, the host seats them in the vacated venue, where they check in; the replaced
member's sheets are void. When the backups run out, the supplementary draw is opened into the
running session by its main host and supervisor and fills the seat."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import select

from expertpool.core.errors import Conflict, Forbidden
from expertpool.core.tokens import ExpertTokens
from expertpool.draws import panels, sealing
from expertpool.draws.models import (
    Draw,
    DrawInvitee,
    DrawRequestRecord,
    DrawStatus,
    InviteeStatus,
)
from expertpool.experts.models import Expert
from expertpool.rooms import opening
from expertpool.rooms import sessions as rooms
from expertpool.rooms.models import RoomVacancy
from tests.conftest import PASSWORD
from tests.integration.draws.conftest import EVALUATION, NOW, Setup, add_experts
from tests.integration.room.conftest import Committee

pytestmark = pytest.mark.integration


def _opened_committee(setup: Setup) -> tuple[Committee, Draw]:
    add_experts(setup.app, 14, start=1200)
    d = setup.full_draw()
    result = sealing.open_result(d, setup.keys)
    for expert in result.groups[0].primaries:
        panels.record_answer(
            setup.session,
            draw_id=d.draw_id,
            expert_id=int(expert),
            answer="accepted",
            ctx=setup.notify_ctx,
            now=NOW,
        )
    setup.clock.now = EVALUATION
    row = opening.open_lot(
        setup.session,
        project_id=setup.project_id,
        lot_id=None,
        actor=setup.operator,
        supervisor_username=setup.supervisor.username,
        supervisor_password=PASSWORD,
        keys=setup.keys,
        settings=rooms.room_settings(setup.config),
        now=EVALUATION,
    )
    users = {"host": setup.operator, "sup": setup.supervisor}
    return Committee(app=setup.app, room_id=row.room_id, users=users), d


def _invited_backup(setup: Setup, d: Draw) -> int:
    row = setup.session.execute(
        select(DrawInvitee).where(
            DrawInvitee.draw_pk == d.id,
            DrawInvitee.is_primary.is_(False),
            DrawInvitee.status == InviteeStatus.INVITED,
        )
    ).scalar_one()
    ids = list(setup.session.execute(select(Expert.id)).scalars())
    return ExpertTokens(setup.keys).tokens(ids)[row.expert_token]


def test_a_vacated_seat_is_filled_by_the_groups_next_backup_once_they_accept(
    setup: Setup,
) -> None:
    c, d = _opened_committee(setup)
    c.ok("host", "phase", action="open")
    c.ok("host", "phase", action="start_check_in")
    members = c.last_snapshot("host")["members"]
    leaving = members[0]
    asked = c.ok("host", "replace_member", member=leaving["participant_id"], reason="突发疾病")
    assert asked["pending"] is True
    # Nothing happens outside the room before the supervisor approves.
    setup.session.expire_all()
    assert setup.session.execute(select(RoomVacancy)).first() is None
    ack = c.ok("sup", "decide_removal", member=leaving["participant_id"], decision="approve")
    assert ack["vacant"] is True and ack["replacement"] is None
    # The member's invitee left the panel and the group's next backup is called.
    setup.session.expire_all()
    backup = _invited_backup(setup, d)
    # Until the backup accepts, the seat stays vacant.
    waiting = c.emit("host", "replace_member", member=leaving["participant_id"], reason="补位")
    assert not waiting["ok"] and waiting["error"]["code"] == "not_allowed"
    panels.record_answer(
        setup.session,
        draw_id=d.draw_id,
        expert_id=backup,
        answer="accepted",
        ctx=setup.notify_ctx,
        now=EVALUATION,
    )
    seated = c.ok("host", "replace_member", member=leaving["participant_id"], reason="补位")
    assert seated["replacement"] and seated["pending"] is False
    after = {m["alias"]: m for m in c.last_snapshot("host")["members"]}
    new = after[seated["replacement"]]
    assert new["status"] == "active" and new["venue_id"] == leaving["venue_id"]
    assert new["replaces"] == leaving["alias"] or after[leaving["alias"]]["status"] == "removed"
    assert not new["is_checked_in"]  # they check in like everyone else
    vacancy = setup.session.execute(select(RoomVacancy)).scalar_one()
    assert vacancy.filled_participant_id == new["participant_id"]
    assert vacancy.filled_token == ExpertTokens(setup.keys).token(backup)
    # Filled once: asking again seats nobody else.
    again = c.emit("host", "replace_member", member=leaving["participant_id"], reason="补位")
    assert not again["ok"]


def test_only_the_main_host_with_a_supervisor_vacates_a_seat(setup: Setup) -> None:
    c, _d = _opened_committee(setup)
    c.ok("host", "phase", action="open")
    member = c.last_snapshot("host")["members"][0]["participant_id"]
    refused = c.emit("sup", "replace_member", member=member, reason="x")
    assert not refused["ok"]
    unasked = c.emit("sup", "decide_removal", member=member, decision="approve")
    assert unasked["error"]["code"] == "not_allowed"
    c.ok("host", "replace_member", member=member, reason="身体不适")
    self_approved = c.emit("host", "decide_removal", member=member, decision="approve")
    assert self_approved["error"]["code"] == "not_allowed"
    c.ok("sup", "decide_removal", member=member, decision="reject", reason="可以继续")
    assert c.last_snapshot("sup")["pending_removals"] == []
    setup.session.expire_all()
    assert setup.session.execute(select(RoomVacancy)).first() is None


def test_when_the_backups_run_out_a_supplementary_draw_opened_at_the_session_fills_the_seat(
    setup: Setup, make_user: Callable[..., Any]
) -> None:
    c, d = _opened_committee(setup)
    c.ok("host", "phase", action="open")
    c.ok("host", "phase", action="start_check_in")
    leaving = c.last_snapshot("host")["members"][0]
    c.ok("host", "replace_member", member=leaving["participant_id"], reason="利害关系")
    c.ok("sup", "decide_removal", member=leaving["participant_id"], decision="approve")
    # Every backup of the group declines: the group runs out and a supplementary request waits.
    for _ in range(10):
        setup.session.expire_all()
        called = setup.session.execute(
            select(DrawInvitee).where(
                DrawInvitee.draw_pk == d.id,
                DrawInvitee.is_primary.is_(False),
                DrawInvitee.status == InviteeStatus.INVITED,
            )
        ).scalar_one_or_none()
        if called is None:
            break
        panels.record_answer(
            setup.session,
            draw_id=d.draw_id,
            expert_id=_invited_backup(setup, d),
            answer="declined",
            ctx=setup.notify_ctx,
            now=EVALUATION,
        )
    child = setup.session.execute(
        select(DrawRequestRecord).where(DrawRequestRecord.parent_id == d.request_id)
    ).scalar_one()
    # The evaluation has started: the supplementary draw still runs at the terminal, sealed.
    add_experts(setup.app, 4, start=1300)
    s = setup.prepare(child.id)
    setup.witness(s.draw_id, "111111", "222222")
    s = setup.run(s.draw_id)
    assert s.status is DrawStatus.SEALED
    newcomer = int(sealing.open_result(s, setup.keys).groups[0].primaries[0])
    panels.record_answer(
        setup.session,
        draw_id=s.draw_id,
        expert_id=newcomer,
        answer="accepted",
        ctx=setup.notify_ctx,
        now=EVALUATION,
    )
    # Sealed, its expert cannot be seated yet.
    early = c.emit("host", "replace_member", member=leaving["participant_id"], reason="补位")
    assert early["error"]["code"] == "not_allowed"

    def open_as(actor: Any, supervisor: Any) -> Any:
        return opening.open_lot(
            setup.session,
            project_id=setup.project_id,
            lot_id=None,
            actor=actor,
            supervisor_username=supervisor.username,
            supervisor_password=PASSWORD,
            keys=setup.keys,
            settings=rooms.room_settings(setup.config),
            now=EVALUATION,
        )

    other_staff = make_user(role="centre_staff", centre="440100")
    other_supervisor = make_user(role="supervisor")
    with pytest.raises(Forbidden) as not_host:
        open_as(other_staff, setup.supervisor)
    assert not_host.value.code == "not_host"
    with pytest.raises(Forbidden) as not_theirs:
        open_as(setup.operator, other_supervisor)
    assert not_theirs.value.code == "not_session_supervisor"
    setup.session.rollback()
    row = open_as(setup.operator, setup.supervisor)
    assert row.room_id == c.room_id  # the same session: no second one
    setup.session.expire_all()
    assert setup.session.get(Draw, s.id).status is DrawStatus.OPENED
    seated = c.ok("host", "replace_member", member=leaving["participant_id"], reason="补位")
    assert seated["replacement"]
    vacancy = setup.session.execute(select(RoomVacancy)).scalar_one()
    assert vacancy.filled_token == ExpertTokens(setup.keys).token(newcomer)
    with pytest.raises(Conflict):  # nothing left to open
        open_as(setup.operator, setup.supervisor)
