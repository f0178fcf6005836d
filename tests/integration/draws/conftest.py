"""Fixtures for draws: a pool of experts, a ready project with a venue, a terminal and a request."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from expertpool.accounts.models import Centre
from expertpool.core.calendar import CST
from expertpool.core.db import utcnow
from expertpool.core.pii import PiiCipher
from expertpool.draws.rules import DrawRules
from expertpool.experts.models import Expert, ExpertSpecialty, ExpertStatus
from expertpool.notifications.notifier import services_of
from expertpool.projects import projects, terminals, venues
from expertpool.projects.models import Project
from tests.conftest import PASSWORD
from tests.integration.projects.conftest import Clock, credit_code, project_payload

NOW = datetime(
    2026, 6, 3, 9, 0, tzinfo=CST
)  # two working days before the evaluation on Friday 5 June
EVALUATION = datetime(2026, 6, 5, 9, 0, tzinfo=CST)
BIDDERS = (credit_code(10), credit_code(11))


def expert_name(n: int) -> str:
    """A distinctive expert name (searched for in responses by the leak tests)."""
    return f"测试专家{n:04d}号"


def expert_phone(n: int) -> str:
    """A distinctive phone number."""
    return f"1390000{n:04d}"


def add_experts(
    app: Flask,
    count: int,
    *,
    start: int = 1,
    specialty: str = "A0101",
    region: str = "440300",
    employer: Callable[[int], str | None] | None = None,
    status: ExpertStatus = ExpertStatus.ACTIVE,
) -> list[int]:
    """Insert active experts directly (names and phones distinctive); returns their ids."""
    st = app.extensions["expertpool"]
    session = st.sessions()
    cipher = PiiCipher.from_keys(st.keys)
    made = []
    for n in range(start, start + count):
        e = Expert(
            name=expert_name(n),
            status=status,
            home_region=region,
            employer_code=employer(n) if employer else credit_code(1000 + n),
            employer_name="单位",
        )
        e.specialties = [ExpertSpecialty(code=specialty)]
        session.add(e)
        session.flush()
        e.phone_enc = cipher.encrypt(
            "+86" + expert_phone(n), table="expert", row_id=e.id, column="phone"
        )
        made.append(e)
    session.commit()
    return [e.id for e in made]


@dataclass
class Setup:
    """A ready project, its venue, a terminal, the staff operator and a supervisor."""

    app: Flask
    project_id: int
    terminal_token: str
    terminal: Any
    operator: Any
    supervisor: Any
    clock: Clock

    @property
    def session(self) -> Any:
        """The app's session."""
        return self.app.extensions["expertpool"].sessions()

    @property
    def keys(self) -> Any:
        """The key store."""
        return self.app.extensions["expertpool"].keys

    @property
    def config(self) -> Any:
        """The settings."""
        return self.app.extensions["expertpool"].config

    @property
    def notify_ctx(self) -> Any:
        """The notification context the app was built with."""
        return services_of(self.app).ctx

    def request(self, groups: list[dict[str, Any]] | None = None, **extra: Any) -> int:
        """Create a validated draw request; returns its id."""
        from expertpool.draws import requests as draw_requests

        data = {"groups": groups or [{"specialties": ["A01"], "count": 5, "backups": 3}], **extra}
        req = draw_requests.create_draw_request(
            self.session,
            actor=self.operator,
            terminal=self.terminal,
            project_id=self.project_id,
            data=data,
            rules=DrawRules.from_config(self.config),
            now=self.clock.now,
            keys=self.keys,
        )
        return req.id

    def prepare(self, request_id: int) -> Any:
        """Prepare the draw of a request at the terminal."""
        from expertpool.draws import protocol as draws

        return draws.prepare_draw(
            self.session,
            actor=self.operator,
            terminal=self.terminal,
            request_id=request_id,
            keys=self.keys,
            config=self.config,
            now=self.clock.now,
        )

    def witness(
        self, draw_id: str, operator_digits: str = "314159", supervisor_digits: str = "271828"
    ) -> None:
        """Both witnesses enter their digits."""
        from expertpool.draws import protocol as draws

        draws.witness_operator(
            self.session,
            draw_id=draw_id,
            actor=self.operator,
            terminal=self.terminal,
            digits=operator_digits,
            now=self.clock.now,
        )
        draws.witness_supervisor(
            self.session,
            draw_id=draw_id,
            terminal=self.terminal,
            username=self.supervisor.username,
            password=PASSWORD,
            digits=supervisor_digits,
            now=self.clock.now,
        )

    def run(self, draw_id: str) -> Any:
        """Run the draw."""
        from expertpool.draws import protocol as draws

        return draws.run_draw(
            self.session,
            draw_id=draw_id,
            actor=self.operator,
            terminal=self.terminal,
            keys=self.keys,
            config=self.config,
            now=self.clock.now,
            ctx=self.notify_ctx,
        )

    def full_draw(self, **kw: Any) -> Any:
        """Request, prepare, witness and run; returns the draw."""
        d = self.prepare(self.request(**kw))
        self.witness(d.draw_id)
        return self.run(d.draw_id)


def make_setup(
    app: Flask,
    make_user: Callable[..., Any],
    *,
    seats: int = 20,
    now: datetime = NOW,
    evaluation: datetime = EVALUATION,
    project_code: str | None = None,
) -> Setup:
    """Build a ready Guangzhou project with two bidders, a venue with seats, a terminal and the
    people.
    """
    session = app.extensions["expertpool"].sessions()
    clock = Clock(now)
    app.extensions["expertpool"].clock = clock
    operator = make_user(role="centre_staff", centre="440100")
    supervisor = make_user(role="supervisor")
    centre_id = session.execute(
        select(Centre.id).where(Centre.region_code == "440100")
    ).scalar_one()
    project = projects.create_project(
        session,
        actor="test",
        owner_centre_id=centre_id,
        data=project_payload(
            main_centre="440100",
            evaluation_start=f"{evaluation.astimezone(CST):%Y-%m-%dT%H:%M}",
            **({"code": project_code} if project_code else {}),
        ),
        now=now,
    )
    for code in BIDDERS:
        projects.add_bidder(
            session, actor="test", project_id=project.id, credit_code=code, name="投标人"
        )
    projects.mark_ready(session, actor="test", project_id=project.id)
    venues.create_venue(
        session,
        actor="test",
        centre_code="440100",
        name=f"广州评标室{project_code or ''}",
        seats=seats,
    )
    token, terminal = terminals.register_terminal(
        session, actor="test", centre_code="440100", name=f"终端A{project_code or ''}"
    )
    return Setup(
        app=app,
        project_id=project.id,
        terminal_token=token,
        terminal=terminal,
        operator=operator,
        supervisor=supervisor,
        clock=clock,
    )


@pytest.fixture()
def setup(app: Flask, make_user: Callable[..., Any]) -> Iterator[Setup]:
    """A ready project, venue, terminal, operator and supervisor on the shared test app."""
    yield make_setup(app, make_user)
    app.extensions["expertpool"].clock = utcnow


def project_of(s: Setup) -> Project:
    """The project row."""
    project = s.session.get(Project, s.project_id)
    assert project is not None
    return project
