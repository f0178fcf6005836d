"""Replacement mid-session: the main venue's host takes a member off; the member's draw group
calls its next backup in rank order; once that backup accepts, the host seats them in the vacated
venue, where they check in; the replaced member's sheets are void."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from expertpool.core.tokens import ExpertTokens
from expertpool.draws import panels, sealing
from expertpool.draws.models import Draw, DrawInvitee, InviteeStatus
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
    ack = c.ok("host", "replace_member", member=leaving["participant_id"], reason="突发疾病")
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
    assert seated["replacement"] and seated["vacant"] is False
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


def test_only_the_main_host_vacates_a_seat(setup: Setup) -> None:
    c, _d = _opened_committee(setup)
    c.ok("host", "phase", action="open")
    member = c.last_snapshot("host")["members"][0]["participant_id"]
    refused = c.emit("sup", "replace_member", member=member, reason="x")
    assert not refused["ok"]
    assert setup.session.execute(select(RoomVacancy)).first() is None
