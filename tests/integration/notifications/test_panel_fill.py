"""How a draw plugs in: a replacement handler inviting the next backup fills the panel in rank
order.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest
from sqlalchemy import select

from expertpool.notifications import invitations
from expertpool.notifications.models import InvitationRecord, InvitationState
from tests.integration.notifications.conftest import STARTS_AT, TwilioTrial, replacement_handler

pytestmark = pytest.mark.integration


@dataclass
class FakeDraw:
    """Stands in for the draw feature: five seats, backups in rank order, a replacement hook."""

    trial: TwilioTrial
    backups: list[tuple[int, str]]
    replaced: list[tuple[int, str]] = field(default_factory=list)

    def invite(self, session: Any, rank: int, phone: str) -> InvitationRecord:
        return invitations.enqueue_invitation(
            session,
            draw_id="D-panel",
            group_id="G1",
            expert_id=rank,
            rank=rank,
            phone=phone,
            expert_name=f"专家{rank}",
            starts_at=STARTS_AT,
            venue="广州主场",
            ctx=self.trial.ctx,
        )

    def replace(self, session: Any, invitation: InvitationRecord, reason: str, ctx: Any) -> None:
        """The replacement handler: invite the next backup in the same transaction."""
        self.replaced.append((invitation.rank, reason))
        if self.backups:
            rank, phone = self.backups.pop(0)
            self.invite(session, rank, phone)


def test_scripted_answers_fill_five_seats_from_the_backups_in_rank_order(
    trial: TwilioTrial,
) -> None:
    api = trial.api
    phones = {rank: trial.new_number() for rank in range(1, 8)}
    scripts = {
        1: ["accept"],
        2: ["accept"],
        3: ["decline"],
        4: ["machine", "accept"],
        5: ["silence"] * 4,
        6: ["accept"],
        7: ["accept"],
    }
    for rank, outcomes in scripts.items():
        api.script_calls(phones[rank], *outcomes)
    draw = FakeDraw(trial, backups=[(6, phones[6]), (7, phones[7])])
    restore = replacement_handler(trial.app, draw.replace)
    try:
        session = trial.session
        for rank in range(1, 6):
            draw.invite(session, rank, phones[rank])
        session.commit()
        minutes = trial.ctx.config.call_retry_minutes
        for step in range(9):
            trial.dispatch(trial.later(step * (minutes + 1)))
            trial.play()
    finally:
        restore()
    session = trial.session
    session.expire_all()
    rows = session.execute(select(InvitationRecord).order_by(InvitationRecord.rank)).scalars().all()
    states = {row.rank: row.state for row in rows}
    assert states == {
        1: InvitationState.ACCEPTED,
        2: InvitationState.ACCEPTED,
        3: InvitationState.DECLINED,
        4: InvitationState.ACCEPTED,
        5: InvitationState.NO_RESPONSE,
        6: InvitationState.ACCEPTED,
        7: InvitationState.ACCEPTED,
    }
    assert draw.replaced == [(3, "declined"), (5, "no_response")]
    accepted = [row.rank for row in rows if row.state is InvitationState.ACCEPTED]
    assert accepted == [1, 2, 4, 6, 7]
    # Each accepted expert got exactly one confirmation.
    for rank in accepted:
        assert sum("评标确认" in body for body in trial.bodies(phones[rank])) == 1
