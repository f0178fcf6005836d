"""Statistics against a generated history with known answers: closed projects only, small cells
hidden with their complements, scoped to the reader."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from expertpool.accounts.models import Centre
from expertpool.draws.models import (
    Draw,
    DrawGroup,
    DrawInvitee,
    DrawRequestRecord,
    DrawStatus,
    InviteeStatus,
)
from expertpool.experts.models import Expert, ExpertSpecialty, ExpertStatus, TitleLevel
from expertpool.projects.models import Project, ProjectKind, ProjectStatus, Terminal
from expertpool.regimes.models import LegalRegime, ProcurementMethod
from expertpool.statistics import figures

pytestmark = pytest.mark.integration
TODAY = date(2026, 12, 1)


class History:
    """Builds projects, draws and invitees straight into the tables."""

    def __init__(self, session: Any, operator_id: int) -> None:
        self.session = session
        self.operator_id = operator_id
        self.n = 0
        self.centres = {c.region_code: c for c in session.execute(select(Centre)).scalars()}
        self.terminals: dict[str, Terminal] = {}

    def terminal(self, city: str) -> Terminal:
        if city not in self.terminals:
            t = Terminal(centre_id=self.centres[city].id, name=city, token_hash=f"t{city}")
            self.session.add(t)
            self.session.flush()
            self.terminals[city] = t
        return self.terminals[city]

    def draw(
        self,
        city: str,
        at: datetime,
        *,
        status: ProjectStatus = ProjectStatus.AWARDED,
        tenderer: str = "91440000TENDERER01",
        specialty: str = "A0101",
        seats: int = 3,
        tokens: tuple[str, ...] = (),
        outcomes: tuple[InviteeStatus, ...] = (),
    ) -> Project:
        self.n += 1
        centre = self.centres[city]
        project = Project(
            code=f"ST-{self.n}",
            name=f"统计项目{self.n}",
            kind=ProjectKind.WORKS,
            regime=LegalRegime.TENDERING_LAW,
            method=ProcurementMethod.OPEN_TENDER,
            budget_fen=100,
            tenderer_code=tenderer,
            tenderer_name="招标人",
            agency_code="91440000AGENCY0001",
            agency_name="代理",
            evaluation_start_at=at,
            duration_minutes=120,
            owner_centre_id=centre.id,
            main_centre_id=centre.id,
            status=status,
        )
        self.session.add(project)
        self.session.flush()
        request = DrawRequestRecord(
            project_id=project.id,
            frequency_window_days=30,
            expert_count=seats,
            committee_size=seats,
            evaluation_start_at=at,
            evaluation_end_at=at + timedelta(hours=2),
            terminal_id=self.terminal(city).id,
            requested_by_id=self.operator_id,
            status="sealed",
        )
        request.groups = [
            DrawGroup(
                position=0,
                group_key="g1",
                specialties=[specialty],
                regions_in=[],
                regions_out=[],
                count=seats,
                backups=1,
            )
        ]
        self.session.add(request)
        self.session.flush()
        draw = Draw(
            draw_id=f"d{self.n}",
            request_id=request.id,
            project_id=project.id,
            status=DrawStatus.OPENED if status.is_closed else DrawStatus.SEALED,
            terminal_id=request.terminal_id,
            operator_id=self.operator_id,
            request_json="{}",
            snapshot=b"",
            commit_digest="0" * 64,
            commit_enc=b"",
            commit_signature="",
            key_id="k",
            public_key="",
            wrapped_key=b"",
            secret_enc=b"",
            prepared_at=at - timedelta(days=2),
            drawn_at=at - timedelta(days=2),
        )
        for i, token in enumerate(tokens):
            draw.invitees.append(
                DrawInvitee(
                    group_key="g1",
                    expert_token=token,
                    position=i,
                    status=outcomes[i] if outcomes else InviteeStatus.ACCEPTED,
                    invited_at=at - timedelta(days=2),
                    answered_at=at - timedelta(days=2) + timedelta(hours=2),
                )
            )
        self.session.add(draw)
        self.session.flush()
        return project


def _at(month: int, day: int = 10) -> datetime:
    return datetime(2026, month, day, 2, 0, tzinfo=UTC)


@pytest.fixture()
def history(app: Flask, make_user: Any) -> History:
    operator = make_user(role="centre_staff", centre="440100")
    return History(app.extensions["expertpool"].sessions(), operator.id)


def test_draws_per_month_count_closed_projects_only_and_hide_small_cells(
    history: History, make_user: Any
) -> None:
    for _ in range(7):
        history.draw("440100", _at(3))
    for _ in range(2):
        history.draw("440300", _at(3))
    for _ in range(6):
        history.draw("440100", _at(4))
    for _ in range(8):
        history.draw("440300", _at(4))
    # open projects (drawn, sealed panels) are never counted
    history.draw("440100", _at(3), status=ProjectStatus.DRAWN)
    history.draw("440300", _at(4), status=ProjectStatus.OPENED)
    admin = make_user(role="admin")
    fig = figures.draws_figure(history.session, admin).as_json()
    assert fig["rows"] == ["2026-03", "2026-04"]
    assert fig["columns"] == sorted(
        [history.centres["440100"].name, history.centres["440300"].name]
    )
    gz = fig["columns"].index(history.centres["440100"].name)
    # Shenzhen's 2 in March is hidden; alone it could be rebuilt from its row and column
    # totals, so the three other cells of the cycle are hidden too
    assert fig["cells"] == [[None, None], [None, None]]
    assert fig["row_totals"] == [9, 14]
    assert fig["column_totals"][gz] == 13
    assert fig["total"] == 23


def test_centre_staff_see_their_centre_only(history: History, make_user: Any) -> None:
    for _ in range(6):
        history.draw("440100", _at(5))
    for _ in range(9):
        history.draw("440300", _at(5))
    staff = make_user(role="centre_staff", centre="440300")
    fig = figures.draws_figure(history.session, staff).as_json()
    assert fig["columns"] == [history.centres["440300"].name]
    assert fig["cells"] == [[9]]


def test_invitation_outcomes_by_centre(history: History, make_user: Any) -> None:
    accepted = (InviteeStatus.ACCEPTED,) * 3
    for i in range(3):
        history.draw(
            "440100",
            _at(6),
            tokens=(f"a{i}", f"b{i}", f"c{i}", f"d{i}"),
            outcomes=(*accepted, InviteeStatus.DECLINED),
        )
    # a sealed draw's answers move nothing
    history.draw(
        "440100", _at(6), status=ProjectStatus.DRAWN, tokens=("x", "y"), outcomes=accepted[:2]
    )
    admin = make_user(role="admin")
    fig = figures.outcomes_figure(history.session, admin).as_json()
    assert fig["columns"] == ["accepted", "declined"]
    # 9 accepted, 3 declined: a one-row grid whose small cell cannot be protected by a cycle
    # is hidden whole, keeping only the grand total
    assert fig["cells"] == [[None, None]]
    assert fig["column_totals"] == [None, None]
    assert fig["total"] == 12


def _expert(session: Any, n: int, city: str, code: str, **kw: Any) -> Expert:
    e = Expert(
        name=f"统计专家{n}",
        status=kw.get("status", ExpertStatus.ACTIVE),
        title_level=kw.get("title", TitleLevel.DEPUTY_SENIOR),
        home_region=city,
        birth_date=kw.get("birth", date(1975, 1, 1)),
    )
    e.specialties = [ExpertSpecialty(code=code)]
    session.add(e)
    return e


def test_shortage_warns_where_drawable_experts_fall_below_the_multiple(
    history: History, make_user: Any
) -> None:
    s = history.session
    for n in range(3):
        _expert(s, n, "440103", "A010101")  # Guangzhou, planning: 3 drawable
    for n in range(3, 40):
        _expert(s, n, "440303", "A010101")  # Shenzhen: 37 drawable
    _expert(s, 99, "440103", "A010101", title=TitleLevel.INTERMEDIATE)  # not drawable
    s.flush()
    for _ in range(2):
        history.draw("440100", _at(6), specialty="A0101", seats=5)  # 10 seats requested
        history.draw("440300", _at(6), specialty="A0101", seats=5)
    history.draw("440100", _at(7), specialty="A0101", seats=9, status=ProjectStatus.DRAWN)
    admin = make_user(role="admin")
    found = figures.shortages(s, admin, today=TODAY)
    rows = {x.city: (x.drawable, x.demand, x.is_warning) for x in found}
    assert rows["广州市"] == (3, 10, True)  # 3 < 2 x 10; the open project's 9 seats not counted
    assert rows["深圳市"] == (37, 10, False)
    assert found[0].city == "广州市"  # warnings first


def test_pool_by_title_hides_small_counts(history: History, make_user: Any) -> None:
    s = history.session
    for n in range(8):
        _expert(s, n, "440103", "A010101", title=TitleLevel.FULL_SENIOR)
    for n in range(8, 10):
        _expert(s, n, "440103", "A010101", title=TitleLevel.EQUIVALENT)
    for n in range(10, 16):
        _expert(s, n, "440103", "A010101", title=TitleLevel.DEPUTY_SENIOR)
    s.flush()
    admin = make_user(role="admin")
    fig = figures.pool_figure(s, admin, by="title", level=1, today=TODAY).as_json()
    cells = dict(zip(fig["columns"], fig["cells"][0], strict=True))
    assert cells["equivalent"] is None  # 2 experts
    assert sum(v is None for v in cells.values()) == 2  # and its complement
    assert fig["total"] == 16
