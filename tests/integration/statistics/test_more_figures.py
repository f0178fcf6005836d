"""The newer figures and signals against generated histories with known answers: response
times, the pool over time, fees, centres' unusual rates and terminals used out of hours; closed
projects only, small cells hidden."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from expertpool.draws.models import Draw, DrawRequestRecord, DrawStatus, InviteeStatus
from expertpool.experts.models import Expert, ExpertStatus
from expertpool.projects.models import ProjectStatus
from expertpool.statistics import figures
from tests.integration.statistics.test_figures import History, _at, history  # noqa: F401

pytestmark = pytest.mark.integration


def test_response_times_count_answers_of_closed_projects_by_band(
    history: History,  # noqa: F811
    make_user: Any,
) -> None:
    for n in range(6):
        p = history.draw(
            "440100",
            _at(3),
            tokens=(f"a{n}", f"b{n}"),
            outcomes=(InviteeStatus.ACCEPTED, InviteeStatus.DECLINED),
        )
        for inv, hours in zip(p_draw(history, p).invitees, (0.5, 30), strict=True):
            inv.answered_at = inv.invited_at + timedelta(hours=hours)
    # an open project's quick answers move nothing
    q = history.draw("440100", _at(3), status=ProjectStatus.DRAWN, tokens=("x",))
    p_draw(history, q).invitees[0].answered_at = p_draw(history, q).invitees[0].invited_at
    history.session.flush()
    fig = figures.response_times_figure(history.session, make_user(role="admin")).as_json()
    assert fig["columns"] == ["under_1h", "24h_plus"]
    assert fig["cells"] == [[6, 6]]
    assert fig["total"] == 12


def p_draw(built: History, project: Any) -> Any:
    return built.session.execute(select(Draw).where(Draw.project_id == project.id)).scalar_one()


def test_pool_over_time_counts_activations_per_month(
    history: History,  # noqa: F811
    make_user: Any,
) -> None:
    s = history.session
    for n in range(10):
        s.add(Expert(name=f"新{n}", status=ExpertStatus.ACTIVE, activated_at=_at(10)))
    for n in range(6):
        s.add(Expert(name=f"秋{n}", status=ExpertStatus.ACTIVE, activated_at=_at(9)))
    for n in range(2):
        s.add(Expert(name=f"少{n}", status=ExpertStatus.ACTIVE, activated_at=_at(11)))
    s.flush()
    fig = figures.pool_figure(
        s, make_user(role="admin"), by="time", level=1, today=date(2026, 12, 1)
    ).as_json()
    assert fig["columns"][-4:] == ["2026-09", "2026-10", "2026-11", "2026-12"]
    # the 2 of November is hidden, and with it the smallest other cell (September's 6), since
    # the row total would give it away
    assert fig["cells"][0][-4:] == [None, 10, None, 0]
    assert fig["total"] == 18
    assert len(fig["columns"]) == 12


def test_a_centre_abandoning_many_draws_is_signalled(
    history: History,  # noqa: F811
    make_user: Any,
) -> None:
    # Guangzhou: 12 of 20 projects had an abandoned draw; Shenzhen and Zhuhai 1 of 20 each
    for city, abandoned in (("440100", 12), ("440300", 1), ("440400", 1)):
        for n in range(20):
            p = history.draw(city, _at(2 + n % 9))
            if n < abandoned:
                p_draw(history, p).status = DrawStatus.ABANDONED
    # an open project's abandoned draws are never read
    for _n in range(10):
        p = history.draw("440300", _at(5), status=ProjectStatus.DRAWN)
        p_draw(history, p).status = DrawStatus.ABANDONED
    history.session.flush()
    supervisor = make_user(role="supervisor")
    found = figures.centre_rate_signals(history.session, supervisor)
    assert [(s.unit, s.kind, s.observed, s.total) for s in found] == [
        (history.centres["440100"].name, "abandoned", 12, 20)
    ]
    assert found[0].rate_elsewhere == pytest.approx(2 / 40)


def test_a_terminal_used_at_night_is_signalled(
    history: History,  # noqa: F811
    make_user: Any,
) -> None:
    for city in ("440100", "440300", "440400"):
        for _n in range(15):
            p = history.draw(city, _at(6))
            p_draw(history, p).drawn_at = datetime(2026, 6, 3, 2, 0, tzinfo=UTC)  # 10:00, working
    night = datetime(2026, 6, 3, 15, 0, tzinfo=UTC)  # 23:00 China time, a Wednesday
    for _n in range(8):
        p = history.draw("440400", night + timedelta(days=2))
        p_draw(history, p).drawn_at = night
    history.session.flush()
    assert figures.is_out_of_hours(night)
    assert not figures.is_out_of_hours(datetime(2026, 6, 3, 2, 0, tzinfo=UTC))
    supervisor = make_user(role="supervisor")
    found = figures.terminal_signals(history.session, supervisor)
    assert [(s.observed, s.total) for s in found] == [(8, 23)]
    assert "440400" in found[0].unit


def test_supplementary_draws_are_counted_per_project(
    history: History,  # noqa: F811
    make_user: Any,
) -> None:
    for city in ("440100", "440300"):
        for _n in range(10):
            p = history.draw(city, _at(4))
            if city == "440100":
                parent = history.session.query(DrawRequestRecord).filter_by(project_id=p.id).one()
                child = DrawRequestRecord(
                    project_id=p.id,
                    parent_id=parent.id,
                    frequency_window_days=30,
                    expert_count=1,
                    committee_size=1,
                    evaluation_start_at=parent.evaluation_start_at,
                    evaluation_end_at=parent.evaluation_end_at,
                    terminal_id=parent.terminal_id,
                    requested_by_id=parent.requested_by_id,
                )
                history.session.add(child)
    history.session.flush()
    supervisor = make_user(role="supervisor")
    found = figures.centre_rate_signals(history.session, supervisor)
    # 10 of 10 against 0 of 10: P = 1 / C(20, 10), far under 0.01 / 8
    assert [(s.kind, s.observed) for s in found] == [("supplementary", 10)]


def _statement(built: History, project: Any, closed_at: datetime, lines: int) -> None:
    from expertpool.fees.models import FeeLine, FeeStatement
    from expertpool.rooms.models import EvaluationSession

    row = EvaluationSession(
        room_id=f"rfees{project.id}",
        project_id=project.id,
        title="费用",
        phase="archived",
        seq=1,
        state="",
        created_by="test",
    )
    built.session.add(row)
    built.session.flush()
    statement = FeeStatement(
        session_id=row.id,
        project_id=project.id,
        title="费用",
        host_scope="440100",
        payer_kind="tenderer",
        payer_name="招标人",
        outcome="evaluated",
        evaluation_on=closed_at.date(),
        closed_at=closed_at,
        tax_version=1,
        created_by="test",
    )
    for n in range(lines):
        statement.lines.append(
            FeeLine(
                user_id=built.operator_id,
                expert_name=f"专家{n}",
                participant_id=f"p{n}",
                schedule_scope="440100",
                schedule_number=1,
                gross_fen=80000,
                tax_fen=0,
                net_fen=80000,
            )
        )
    built.session.add(statement)
    built.session.flush()


def test_fees_per_month_hide_sums_of_few_lines(
    history: History,  # noqa: F811
    make_user: Any,
) -> None:
    gz = history.draw("440100", _at(3))
    _statement(history, gz, _at(3), 6)  # 6 lines of 800 yuan in March
    _statement(history, history.draw("440100", _at(4)), _at(4), 7)
    _statement(history, history.draw("440300", _at(4)), _at(4), 2)  # 2 lines: hidden
    _statement(history, history.draw("440300", _at(3)), _at(3), 9)
    # an open project's statement is never read
    _statement(history, history.draw("440300", _at(3), status=ProjectStatus.OPENED), _at(3), 50)
    fig = figures.fees_figure(history.session, make_user(role="admin")).as_json()
    assert fig["rows"] == ["2026-03", "2026-04"]
    sz = fig["columns"].index(history.centres["440300"].name)
    assert fig["cells"][0][1 - sz] is None  # a complement: hidden with the 2 lines' cell ...
    assert fig["cells"][1][sz] is None
    assert fig["total"] == (6 + 7 + 2 + 9) * 800  # ... with exact totals in yuan
    assert fig["row_totals"] == [(6 + 9) * 800, (7 + 2) * 800]
