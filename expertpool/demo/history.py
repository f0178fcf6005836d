"""Demo step: a year of closed draws for the statistics (docs/statistics.md).

Twelve months of awarded projects across the demo's centres and three specialty headings, each
with one sealed and opened draw and its invitees' answers, so that the figures, the shortage
warnings and the signals show something real. Made straight into the tables (like the tests'
histories): the draws carry no sealed record, their invitees are made-up keyed tokens, and every
project is closed, so nothing here is a panel anyone could still be waiting for. Two things are
planted: one expert token sits on every draw of one Guangzhou tenderer (the expert-tenderer signal
shows it to the Guangzhou supervisor), and Shenzhen's demand for one heading is set above half
its drawable experts (a shortage warning).
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from expertpool.accounts.models import Centre, User, UserRole
from expertpool.core.calendar import cst_date
from expertpool.core.db import utcnow
from expertpool.demo.context import DemoContext
from expertpool.departments.models import Department
from expertpool.draws.models import (
    Draw,
    DrawGroup,
    DrawInvitee,
    DrawRequestRecord,
    DrawRequestStatus,
    DrawStatus,
    InviteeStatus,
)
from expertpool.experts.models import Expert, ExpertSpecialty, ExpertStatus, TitleLevel
from expertpool.projects.models import Project, ProjectKind, ProjectStatus, Terminal
from expertpool.reference.models import Specialty
from expertpool.regimes.models import LegalRegime, ProcurementMethod

PREFIX = "HIST-"
CITIES = ("440100", "440300", "440400", "440600")
PLANTED_TENDERER = "12440100HIST0000X1"
PER_MONTH = 5  # projects per centre and month
QUALIFYING = (TitleLevel.FULL_SENIOR, TitleLevel.DEPUTY_SENIOR, TitleLevel.EQUIVALENT)


def _headings(session: Session) -> list[str]:
    """The three level-2 headings with the most drawable experts in the demo's cities (the
    history's strata), or the first three of the classification when the pool is empty."""
    # One expression object in SELECT, GROUP BY and ORDER BY: PostgreSQL matches them by their
    # bound parameters, which separate calls would name apart.
    heading = func.substr(ExpertSpecialty.code, 1, 3)
    rows = session.execute(
        select(heading, func.count(func.distinct(Expert.id)))
        .join(Expert, Expert.id == ExpertSpecialty.expert_id)
        .where(Expert.status == ExpertStatus.ACTIVE, Expert.title_level.in_(QUALIFYING))
        .group_by(heading)
        .order_by(func.count(func.distinct(Expert.id)).desc(), heading)
        .limit(3)
    ).all()
    found = [str(code) for code, _n in rows]
    if len(found) == 3:
        return found
    codes = list(
        session.execute(
            select(Specialty.code).where(func.length(Specialty.code) == 3).order_by(Specialty.code)
        ).scalars()
    )
    return codes[:3] or ["A01", "A02", "A03"]


def _drawable(session: Session, city: str, heading: str) -> int:
    return int(
        session.execute(
            select(func.count(func.distinct(Expert.id)))
            .join(ExpertSpecialty, ExpertSpecialty.expert_id == Expert.id)
            .where(
                Expert.status == ExpertStatus.ACTIVE,
                Expert.title_level.in_(QUALIFYING),
                Expert.home_region.startswith(city[:4]),
                ExpertSpecialty.code.startswith(heading),
            )
        ).scalar_one()
    )


def run_step(session: Session, ctx: DemoContext, seed: int, options: dict[str, int]) -> str:
    """Make the year of closed draws (once)."""
    if session.execute(select(Project.id).where(Project.code.startswith(PREFIX))).first():
        return "already present"
    centres = {
        c.region_code: c
        for c in session.execute(select(Centre).where(Centre.region_code.in_(CITIES))).scalars()
    }
    operators = {
        u.centre_id: u
        for u in session.execute(select(User).where(User.role == UserRole.CENTRE_STAFF)).scalars()
    }
    if not centres or not operators:
        return "skipped (no centres or staff)"
    fallback = next(iter(operators.values()))
    departments = {
        d.code: d
        for d in session.execute(
            select(Department).where(Department.code.like("%-coordination"))
        ).scalars()
    }
    rng = random.Random(seed * 26 + 1)
    headings = _headings(session)
    pools = {h: [f"{rng.getrandbits(128):032x}" for _i in range(60)] for h in headings}
    planted_token = pools[headings[0]][0]
    short_heading = headings[1]
    short_city = "440300" if "440300" in centres else next(iter(centres))
    short_draws = 12 * PER_MONTH // 2
    need = _drawable(session, short_city, short_heading) // 2 + 1
    short_seats = max(5, -(-need // short_draws) + 1)
    today = cst_date(utcnow())
    made = 0
    # (project, request, draw): inserted in three batches, not one round trip per row
    made_rows: list[tuple[Project, DrawRequestRecord, Draw]] = []
    for city, centre in sorted(centres.items()):
        operator = operators.get(centre.id, fallback)
        terminal = Terminal(
            centre_id=centre.id, name="历史抽取终端", token_hash=f"{PREFIX}terminal-{city}"
        )
        session.add(terminal)
        session.flush()
        dept = departments.get(f"{city}-coordination")
        for back in range(12, 0, -1):
            month_start = datetime(today.year, today.month, 1, tzinfo=UTC) - timedelta(
                days=30 * back
            )
            for i in range(PER_MONTH):
                planted = city == "440100" and i == 0
                heading = headings[0] if planted else headings[(i + back) % len(headings)]
                seats = short_seats if (city == short_city and heading == short_heading) else 3
                tenderer = (
                    PLANTED_TENDERER
                    if planted
                    else f"1244{city[2:4]}00HIST{rng.randrange(40):04d}X"
                )
                at = month_start + timedelta(days=2 + 5 * i, hours=1 + rng.randrange(6))
                made += 1
                project = Project(
                    code=f"{PREFIX}{city}-{made:04d}",
                    name=f"历年项目{made}",
                    kind=ProjectKind.WORKS,
                    regime=LegalRegime.TENDERING_LAW,
                    method=ProcurementMethod.OPEN_TENDER,
                    budget_fen=100_000_000 + rng.randrange(10**9),
                    tenderer_code=tenderer,
                    tenderer_name="历年招标人",
                    agency_code=f"9144{city[2:4]}00AGENCY{rng.randrange(5):02d}",
                    agency_name="历年代理机构",
                    evaluation_start_at=at,
                    duration_minutes=240,
                    owner_centre_id=centre.id,
                    main_centre_id=centre.id,
                    department_id=dept.id if dept is not None else None,
                    status=ProjectStatus.AWARDED,
                )
                request = DrawRequestRecord(
                    frequency_window_days=30,
                    expert_count=seats,
                    committee_size=seats,
                    evaluation_start_at=at,
                    evaluation_end_at=at + timedelta(hours=4),
                    terminal_id=terminal.id,
                    requested_by_id=operator.id,
                    status=DrawRequestStatus.SEALED,
                )
                request.groups = [
                    DrawGroup(
                        position=0,
                        group_key="g1",
                        specialties=[heading],
                        regions_in=[],
                        regions_out=[],
                        count=seats,
                        backups=2,
                    )
                ]
                drawn = at - timedelta(days=2)
                draw = Draw(
                    draw_id=f"hist-{seed}-{made}",
                    status=DrawStatus.OPENED,
                    terminal_id=terminal.id,
                    operator_id=operator.id,
                    request_json="{}",
                    snapshot=b"",
                    commit_digest="0" * 64,
                    commit_enc=b"",
                    commit_signature="",
                    key_id="history",
                    public_key="",
                    wrapped_key=b"",
                    secret_enc=b"",
                    prepared_at=drawn,
                    drawn_at=drawn,
                    opened_at=at,
                )
                chosen = rng.sample(pools[heading], min(seats + 2, len(pools[heading])))
                if planted and planted_token not in chosen:
                    chosen[0] = planted_token
                elif not planted and planted_token in chosen:
                    chosen.remove(planted_token)
                accepted = 0
                for pos, token in enumerate(chosen):
                    roll = rng.random()
                    if (planted and token == planted_token) or (accepted < seats and roll < 0.75):
                        status, hours = InviteeStatus.ACCEPTED, rng.expovariate(1 / 3)
                        accepted += 1
                    elif roll < 0.92:
                        status, hours = InviteeStatus.DECLINED, rng.expovariate(1 / 6)
                    else:
                        status, hours = InviteeStatus.NO_RESPONSE, None
                    draw.invitees.append(
                        DrawInvitee(
                            group_key="g1",
                            expert_token=token,
                            position=pos,
                            status=status,
                            invited_at=drawn,
                            answered_at=None if hours is None else drawn + timedelta(hours=hours),
                        )
                    )
                made_rows.append((project, request, draw))
    session.add_all([p for p, _r, _d in made_rows])
    session.flush()
    for project, request, _draw in made_rows:
        request.project_id = project.id
    session.add_all([r for _p, r, _d in made_rows])
    session.flush()
    for project, request, draw in made_rows:
        draw.project_id, draw.request_id = project.id, request.id
    session.add_all([d for _p, _r, d in made_rows])
    session.commit()
    return f"{made} closed projects over twelve months"
