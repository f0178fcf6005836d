"""From a session's times to its statement: the hand-checked example, the close, adjustments."""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from expertpool.core.errors import Conflict, Forbidden, ValidationFailed
from expertpool.core.models import AuditEntry
from expertpool.fees import statements
from expertpool.fees.models import FeeStatement
from expertpool.fees.money import yuan
from expertpool.projects.models import ProjectStatus
from expertpool.rooms.sessions import get_session
from tests.integration.fees.conftest import ClosedSession

DOC = Path(__file__).resolve().parents[3] / "docs" / "fees.md"


def _statement(example: ClosedSession) -> FeeStatement:
    st = example.app.extensions["expertpool"]
    session = st.sessions()
    row = get_session(session, example.room_id)
    return statements.make_statement(session, row, st.keys, actor="test", now=None)


def documented_example() -> dict[str, tuple[int, str, str, str]]:
    """The rows of the example table in docs/fees.md: name → (minutes, gross, tax, net)."""
    text = DOC.read_text(encoding="utf-8")
    block = text.split("<!-- example:start -->")[1].split("<!-- example:end -->")[0]
    rows = {}
    for line in block.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) >= 6 and re.fullmatch(r"\d+", cells[1]):
            rows[cells[0]] = (int(cells[1]), cells[-3], cells[-2], cells[-1])
    return rows


def test_no_statement_is_made_before_the_close(example: ClosedSession) -> None:
    with pytest.raises(Conflict):
        _statement(example)
    session = example.app.extensions["expertpool"].sessions()
    assert session.execute(select(func.count(FeeStatement.id))).scalar_one() == 0


def test_the_statement_matches_the_hand_checked_example_in_the_docs(
    example: ClosedSession,
) -> None:
    example.close()
    s = _statement(example)
    got = {
        line.expert_name: (
            line.minutes,
            str(yuan(line.gross_fen)),
            str(yuan(line.tax_fen)),
            str(yuan(line.net_fen)),
        )
        for line in s.lines
    }
    expected = documented_example()
    assert len(expected) == 6
    assert got == expected
    assert s.payer_name == "广州市某人民医院"  # the schedule names the tenderer as payer
    for line in s.lines:
        assert line.net_fen + line.tax_fen == line.gross_fen


def test_the_remote_expert_is_paid_at_the_higher_home_rate(example: ClosedSession) -> None:
    example.close()
    s = _statement(example)
    remote = next(x for x in s.lines if x.expert_name == "专家戊")
    local = next(x for x in s.lines if x.expert_name == "专家乙")
    assert (remote.schedule_scope, local.schedule_scope) == ("440300", "440000")
    assert remote.duration_fen == 100000 and local.duration_fen == 80000


def test_the_replaced_member_is_paid_for_the_time_served(example: ClosedSession) -> None:
    example.close()
    s = _statement(example)
    left = next(x for x in s.lines if x.expert_name == "专家丁")
    backup = next(x for x in s.lines if x.expert_name == "专家己")
    assert left.left_at is not None and (left.minutes, backup.minutes) == (105, 170)


def test_a_cancelled_tender_still_pays_as_the_schedule_says(example: ClosedSession) -> None:
    example.close(ProjectStatus.CANCELLED)
    s = _statement(example)
    assert s.outcome == "cancelled"
    # They served more than the short-session hour, so they are paid by time.
    assert {x.expert_name: x.minutes for x in s.lines}["专家甲"] == 330


def test_an_adjustment_applies_only_once_a_supervisor_approves(example: ClosedSession) -> None:
    example.close()
    s = _statement(example)
    line = next(x for x in s.lines if x.expert_name == "专家乙")
    session = example.app.extensions["expertpool"].sessions()
    staff, sup = example.people["h_gz"], example.people["sup"]
    with pytest.raises(ValidationFailed) as refused:
        statements.request_adjustment(
            session, actor=staff, line_id=line.id, amount="100", reason=""
        )
    assert "reason" in (refused.value.fields or {})
    adj = statements.request_adjustment(
        session, actor=staff, line_id=line.id, amount="100", reason="评标延时，补足加班费"
    )
    session.refresh(line)
    assert line.gross_fen == 90000  # unchanged until approved
    with pytest.raises(Forbidden):
        statements.decide_adjustment(session, actor=staff, adjustment_id=adj.id, approve=True)
    statements.decide_adjustment(session, actor=sup, adjustment_id=adj.id, approve=True)
    session.refresh(line)
    # 1,000 gross: tax (1,000 − 800) × 20 % = 40.
    assert (line.gross_fen, line.tax_fen, line.net_fen) == (100000, 4000, 96000)
    actions = set(session.execute(select(AuditEntry.action)).scalars())
    assert {"fees.adjustment_requested", "fees.adjustment_approved"} <= actions
    assert Decimal(line.adjustment_fen) == 10000


def test_only_the_settling_centre_and_the_projects_supervisors_act_and_readings_are_audited(
    example: ClosedSession, make_user: Any, login: Any
) -> None:
    example.close()
    s = _statement(example)
    line = s.lines[0]
    session = example.app.extensions["expertpool"].sessions()
    elsewhere = make_user(role="centre_staff", centre="440300")
    with pytest.raises(Forbidden):
        statements.request_adjustment(
            session, actor=elsewhere, line_id=line.id, amount="10", reason="别的中心的调整"
        )
    adj = statements.request_adjustment(
        session, actor=example.people["h_gz"], line_id=line.id, amount="10", reason="补足交通费"
    )
    outsider = make_user(role="supervisor", department="440300-housing")
    assert statements.pending_adjustments(session, outsider) == []
    with pytest.raises(Forbidden):
        statements.decide_adjustment(session, actor=outsider, adjustment_id=adj.id, approve=True)
    assert [a.id for a in statements.pending_adjustments(session, example.people["sup"])] == [
        adj.id
    ]
    login(example.app.test_client(), example.people["sup"]).get(f"/fees/statements/{s.id}")
    reads = session.execute(
        select(AuditEntry).where(AuditEntry.action == "fees.statement_read")
    ).scalars()
    assert [r.actor for r in reads] == [example.people["sup"].username]
