"""The sealed world: probe experts, real draws at a terminal via the fake Twilio API, role clients.

`world` gives a ready project of the Guangzhou centre evaluated tomorrow at 09:00 (China time),
the app switched to Twilio against the loopback fake, `POOL` probe experts with accounts, and
every role as a session client and as a bearer-token client. `world.terminal_draw()` runs a
real draw through the terminal pages; `world.answer()` lets the dispatcher send and scripts the
answers (the first expert called declines, the second stays silent, everyone else accepts), so
that two backups are invited and seats are booked.

Who was invited is learnt the way an outsider with the provider's account would: from the
numbers the fake Twilio API was asked to text or call (and the answer links in those texts),
never from the application's tables, whose form is the implementers' to change.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, text

from expertpool.accounts.models import Centre
from expertpool.core.calendar import CST
from expertpool.core.db import utcnow
from expertpool.core.pii import PiiCipher
from expertpool.experts.identity import make_id_number
from expertpool.experts.models import Expert, ExpertSpecialty, ExpertStatus
from expertpool.notifications import dispatcher
from expertpool.notifications.notifier import services_of
from expertpool.projects import projects, terminals
from tests.conftest import PASSWORD, csrf_token, login_client
from tests.fakes.twilio_api import (
    FAKE_AUTH_TOKEN,
    FakeTwilioApi,
    client_transport,
    fake_twilio_api,
)
from tests.integration.draws.conftest import BIDDERS, Setup, make_setup
from tests.integration.notifications.conftest import wire_twilio
from tests.integration.projects.conftest import Clock, credit_code, project_payload
from tests.integration.sealing.leaks import ANSWER_LINK, Marker, Probe, link_markers, markers_of

__all__ = ["fake_twilio_api"]

POOL = 10
PROBE_BASE = 1_000_000_000
# One city per probe, so that a request narrowed to one city names exactly one expert.
REGIONS = (
    "440300",
    "440400",
    "440500",
    "440600",
    "440700",
    "440800",
    "440900",
    "441200",
    "441300",
    "441400",
)
DURATION = timedelta(minutes=240)  # project_payload's duration


def probe_name(n: int) -> str:
    """An unmistakable expert name."""
    return f"探针专家甲{n:04d}"


def probe_phone(n: int) -> str:
    """An unmistakable mainland mobile number (national form)."""
    return f"1371234{n:04d}"


def probe_id_number(n: int) -> str:
    """A valid national ID number (kept only as a blind index and ciphertext)."""
    return make_id_number("440106", date(1970, 1, 1) + timedelta(days=n), 500 + n)


def add_probe_experts(
    app: Flask,
    count: int = POOL,
    *,
    start: int = 1,
    specialty: str = "A0101",
    make_user: Callable[..., Any] | None = None,
) -> list[Probe]:
    """Insert drawable probe experts with explicit ids of 10^9 and more (and accounts, if asked)."""
    st = app.extensions["expertpool"]
    session = st.sessions()
    cipher = PiiCipher.from_keys(st.keys)
    probes = []
    for n in range(start, start + count):
        user_id = None
        username = f"probe{n:04d}"
        if make_user is not None:
            user_id = make_user(role="expert", username=username).id
        expert_id = PROBE_BASE + n
        e = Expert(
            id=expert_id,
            user_id=user_id,
            name=probe_name(n),
            status=ExpertStatus.ACTIVE,
            home_region=REGIONS[(n - 1) % len(REGIONS)],
            employer_code=credit_code(5000 + n),
            employer_name="探针单位",
            has_consented=True,
        )
        e.specialties = [ExpertSpecialty(code=specialty)]
        session.add(e)
        session.flush()
        e.phone_enc = cipher.encrypt(
            "+86" + probe_phone(n), table="expert", row_id=e.id, column="phone"
        )
        e.phone_bidx = cipher.blind_index("+86" + probe_phone(n), "phone")
        idn = probe_id_number(n)
        e.id_number_enc = cipher.encrypt(idn, table="expert", row_id=e.id, column="id_number")
        e.id_number_bidx = cipher.blind_index(idn, "id_number")
        probes.append(
            Probe(
                n=n,
                id=expert_id,
                name=e.name,
                national=probe_phone(n),
                region=e.home_region or "",
                employer=e.employer_code or "",
                username=username,
                user_id=user_id,
            )
        )
    session.commit()
    return probes


def evaluation_tomorrow(hour: int = 9) -> datetime:
    """Tomorrow at `hour`:00 China time (a draw today is never too early for it)."""
    tomorrow = utcnow().astimezone(CST).date() + timedelta(days=1)
    return datetime.combine(tomorrow, time(hour, 0), tzinfo=CST)


def token_client(app: Flask, username: str, **extra: Any) -> FlaskClient:
    """A client whose requests carry a bearer token obtained from `/api/v1/tokens` (`extra`:
    `client`, `scopes`)."""
    resp = app.test_client().post(
        "/api/v1/tokens", json={"username": username, "password": PASSWORD, **extra}
    )
    assert resp.status_code in (200, 201), resp.get_data(as_text=True)
    token = resp.get_json()["token"]
    client = app.test_client()
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    return client


@dataclass
class World:
    """The sealed world of one test."""

    app: Flask
    setup: Setup
    api: FakeTwilioApi
    make_user: Callable[..., Any]
    probes: list[Probe]
    users: dict[str, Any] = field(default_factory=dict)
    scripted: dict[str, str] = field(default_factory=dict)  # number -> outcome
    dispatched_until: datetime | None = None
    project_counter: int = 100

    # Basics ------------------------------------------------------------------------------------

    @property
    def session(self) -> Any:
        """The app's session."""
        return self.app.extensions["expertpool"].sessions()

    @property
    def engine(self) -> Any:
        """The app's engine."""
        return self.app.extensions["expertpool"].engine

    @property
    def clock(self) -> Clock:
        """The app's settable clock."""
        return self.setup.clock

    @property
    def evaluation(self) -> datetime:
        """When the main project's evaluation starts."""
        return self.project_start(self.setup.project_id)

    def scan(self) -> dict[Any, dict[str, Any]]:
        """Every row of every table, read outside the app's session (which is ended first)."""
        from tests.integration.sealing.leaks import scan_database

        self.session.commit()
        self.app.extensions["expertpool"].sessions.remove()
        return scan_database(self.engine)

    def project_start(self, project_id: int) -> datetime:
        """A project's evaluation start."""
        self.session.expire_all()
        return projects.get_project(self.session, project_id).evaluation_start_at

    def probe(self, expert_id: int) -> Probe:
        """The probe with this id."""
        return next(p for p in self.probes if p.id == expert_id)

    # Clients -------------------------------------------------------------------------------------

    def client(self, who: str, *, terminal: bool = False) -> FlaskClient:
        """A session client of one of `users` (the operator may stand at the terminal)."""
        c = self.app.test_client()
        login_client(c, self.users[who])
        if terminal:
            c.set_cookie(terminals.COOKIE, self.setup.terminal_token)
        return c

    def post_form(
        self, client: FlaskClient, url: str, data: dict[str, str], page: str = "/draws"
    ) -> Any:
        """POST a form with a CSRF token read from `page`."""
        return client.post(url, data={"csrf_token": csrf_token(client, page), **data})

    # Projects ------------------------------------------------------------------------------------

    def new_project(
        self,
        *,
        start: datetime,
        bidders: tuple[str, ...] = BIDDERS,
        kind: str = "works",
        special: bool = False,
    ) -> int:
        """Another ready project of the Guangzhou centre (same tenderer, agency, budget); a
        special one has its reason approved by the supervisor.
        """
        session = self.session
        self.project_counter += 1
        centre_id = session.execute(
            select(Centre.id).where(Centre.region_code == "440100")
        ).scalar_one()
        project = projects.create_project(
            session,
            actor="test",
            owner_centre_id=centre_id,
            data=project_payload(
                code=f"GZ-2026-{self.project_counter:03d}",
                kind=kind,
                main_centre="440100",
                evaluation_start=f"{start.astimezone(CST):%Y-%m-%dT%H:%M}",
                is_special=special,
                special_reason="涉密项目，随机抽取的专家难以胜任" if special else "",
            ),
            now=self.clock.now,
        )
        if special:
            projects.approve_special(
                session,
                actor=self.setup.supervisor,
                project_id=project.id,
                now=self.clock.now,
            )
        for code in bidders:
            projects.add_bidder(
                session, actor="test", project_id=project.id, credit_code=code, name="投标人"
            )
        projects.mark_ready(session, actor="test", project_id=project.id)
        return project.id

    def request(self, project_id: int | None = None, **data: Any) -> int:
        """A validated draw request made at the terminal by the operator."""
        from expertpool.draws import requests as draw_requests
        from expertpool.draws.rules import DrawRules

        body = {"groups": [{"specialties": ["A01"], "count": 5, "backups": 3}], **data}
        req = draw_requests.create_draw_request(
            self.session,
            actor=self.setup.operator,
            terminal=self.setup.terminal,
            project_id=project_id or self.setup.project_id,
            data=body,
            rules=DrawRules.from_config(self.app.extensions["expertpool"].config),
            now=self.clock.now,
            keys=self.app.extensions["expertpool"].keys,
        )
        return req.id

    # The draw at the terminal --------------------------------------------------------------------

    def terminal_draw(self, request_id: int) -> str:
        """Prepare, witness (operator, then supervisor) and run through the terminal pages."""
        staff = self.client("operator", terminal=True)
        resp = self.post_form(staff, f"/draw-requests/{request_id}/prepare", {})
        assert resp.status_code == 302, resp.get_data(as_text=True)[:2000]
        found = re.search(r"/draws/([^/?#]+)$", resp.headers["Location"])
        assert found, resp.headers["Location"]
        draw_id = found.group(1)
        steps = [
            (f"/draws/{draw_id}/witness/operator", {"digits": "31415926"}),
            (
                f"/draws/{draw_id}/witness/supervisor",
                {
                    "username": self.users["supervisor"].username,
                    "password": PASSWORD,
                    "digits": "27182818",
                },
            ),
            (f"/draws/{draw_id}/run", {}),
        ]
        for url, data in steps:
            resp = self.post_form(staff, url, data)
            assert resp.status_code == 302, (url, resp.get_data(as_text=True)[:2000])
        return draw_id

    def open_draw(self, draw_id: str, project_id: int | None = None) -> None:
        """Open the panel at the evaluation start: the main venue's staff and the supervisor."""
        self.clock.now = self.project_start(project_id or self.setup.project_id)
        staff = self.client("operator", terminal=True)
        resp = self.post_form(
            staff,
            f"/draws/{draw_id}/open",
            {"username": self.users["supervisor"].username, "password": PASSWORD},
        )
        assert resp.status_code == 302, resp.get_data(as_text=True)[:2000]

    # Invitations through the fake provider --------------------------------------------------------

    def dispatch(self, steps: int = 12) -> None:
        """Let the dispatcher send, scripting each newly called number, and play the calls.

        Time is compressed as in the draw tests: each pass runs a little over one call-retry
        interval after the previous one. The first number called declines, the second stays
        silent until the deadline, every other one accepts.
        """
        st = self.app.extensions["expertpool"]
        services = services_of(self.app)
        transport = client_transport(self.app.test_client(), FAKE_AUTH_TOKEN)
        retry = st.config.call_retry_minutes
        start = self.dispatched_until or utcnow()
        at = start
        for step in range(steps):
            at = start + timedelta(minutes=step * (retry + 1))
            self.session.commit()  # the test's own transaction must not hold SQLite's write lock
            dispatcher.dispatch_once(st.sessions, services.notifier, at, "w1", 50, ctx=services.ctx)
            for number in sorted({c["to"] for c in self.api.calls.values()}):
                if number in self.scripted:
                    continue
                outcome = (
                    ("decline", "silence")[len(self.scripted)]
                    if len(self.scripted) < 2
                    else "accept"
                )
                self.scripted[number] = outcome
                self.api.script_calls(number, *([outcome] * (12 if outcome == "silence" else 1)))
            self.api.play_calls(transport)
        self.dispatched_until = at + timedelta(minutes=retry + 1)
        self.session.commit()

    def contacted_numbers(self) -> set[str]:
        """Every number the provider was asked to text or call."""
        return {m["to"] for m in self.api.messages.values()} | {
            c["to"] for c in self.api.calls.values()
        }

    def invitees(self) -> list[Probe]:
        """The probes the provider was asked to contact (the invited experts)."""
        numbers = self.contacted_numbers()
        return [p for p in self.probes if p.e164 in numbers]

    def accepted(self) -> list[Probe]:
        """The probes that accepted (scripted so, and confirmed by a text)."""
        return [p for p in self.invitees() if self.scripted.get(p.e164) == "accept"]

    def outsiders(self) -> list[Probe]:
        """Probes never contacted."""
        numbers = self.contacted_numbers()
        return [p for p in self.probes if p.e164 not in numbers]

    def sms_bodies(self) -> list[str]:
        """Every text sent through the provider."""
        return [m["body"] or "" for m in self.api.messages.values()]

    def link_tokens(self) -> dict[str, int]:
        """One-time answer link token -> the expert it was sent to."""
        by_number = {p.e164: p.id for p in self.probes}
        out = {}
        for m in self.api.messages.values():
            for found in ANSWER_LINK.finditer(m["body"] or ""):
                out[found.group(0)[3:]] = by_number.get(m["to"], 0)
        return out

    def markers(self) -> list[Marker]:
        """The leak markers of every invitee and every answer link."""
        return markers_of(self.invitees()) + link_markers(self.link_tokens())

    # Ids for the route walker -------------------------------------------------------------------

    def ids(self, table: str, column: str = "id") -> list[Any]:
        """Every value of a column (raw SQL: the walker needs ids, whatever the models become)."""
        with self.engine.connect() as conn:
            try:
                return list(conn.execute(text(f'SELECT "{column}" FROM "{table}"')).scalars())
            except Exception:
                return []

    def path_values(self) -> dict[str, list[Any]]:
        """Values for every path parameter of the app's GET routes, from the objects created."""
        st = self.app.extensions["expertpool"]
        st.sessions.remove()
        centres = ["440100", "440300"]
        return {
            "project_id": self.ids("project"),
            "request_id": self.ids("draw_request"),
            "draw_id": self.ids("draw", "draw_id"),
            "expert_id": sorted({*self.ids("expert"), *(p.id for p in self.probes)}),
            "number": [1],
            "evidence_id": self.ids("evidence_file"),
            "user_id": self.ids("user_account"),
            "room_id": self.ids("evaluation_session", "room_id") or self.ids("evaluation_session"),
            "message_id": self.ids("outbox_message"),
            "appointment_id": self.ids("appointment"),
            "invitation_id": self.ids("invitation"),
            "terminal_id": self.ids("terminal"),
            "token": list(self.link_tokens()),
            "reference.centre:code": centres,
            "reference_api.specialty:code": ["A01", "A0101"],
            "auth.set_language:code": ["zh"],
            "statistics.export:key": ["draws_by_month", "invitation_outcomes", "pool_status"],
            "statistics_api.figure:key": ["draws_by_month", "invitation_outcomes", "pool_city"],
            "complaint_id": self.ids("complaint"),
            "sanction_id": self.ids("record_sanction"),
            # A PDF takes seconds to build (the CJK font is subset): one probe's archive here;
            # test_record_pages.py reads an accepted expert's for each reader.
            "record.archive_pdf:expert_id": [p.id for p in self.probes[:1]],
            "attachment_id": self.ids("complaint_attachment"),
            "statistics_api.signals_of_kind:kind": [
                "expert-tenderer",
                "expert-agency",
                "expert-expert",
                "favour",
                "centre-rates",
                "terminals",
            ],
        }

    def extra_urls(self) -> list[str]:
        """URLs with query strings: progress of each draw, every page of the audit trail."""
        with self.engine.connect() as conn:
            entries = conn.execute(text("SELECT count(*) FROM audit_entry")).scalar_one()
        pages = range(1, entries // 50 + 2)
        return [
            *(f"/notifications/progress?draw={d}" for d in self.ids("draw", "draw_id")),
            *(f"/admin/audit?page={n}" for n in pages),
            *(f"/experts/search?q={p.name}" for p in self.probes[:2]),
            *(f"/api/v1/experts?name={p.name}" for p in self.probes[:2]),
        ]

    def role_clients(self, *, expert: Probe | None = None, bystander: Probe | None = None) -> dict:
        """Every role, by session and by bearer token; the two experts when given."""
        clients: dict[str, FlaskClient] = {"anonymous": self.app.test_client()}
        people = {k: v for k, v in self.users.items()}
        for label, probe in (("expert (invited)", expert), ("expert (bystander)", bystander)):
            if probe is not None:
                people[label] = self.session.get(type(self.users["admin"]), probe.user_id)
        for label, user in people.items():
            c = self.app.test_client()
            login_client(c, user)
            if label == "operator":
                c.set_cookie(terminals.COOKIE, self.setup.terminal_token)
            clients[f"{label} (session)"] = c
            clients[f"{label} (token)"] = token_client(self.app, user.username)
        # The owning centre's trading system: a machine client with every scope its role has.
        clients["operator (trading system)"] = token_client(
            self.app,
            self.users["operator"].username,
            client="trading-system-440100",
            scopes=[
                "projects:read",
                "projects:write",
                "draws:read",
                "draws:write",
                "reference:read",
                "experts:read",
            ],
        )
        return clients


def tenderer_contact(app: Flask, setup: Any, make_user: Callable[..., Any]) -> Any:
    """A contact account of the project's tenderer (sees the project's status, never members)."""
    from expertpool.organisations import directory
    from expertpool.projects.models import Project

    session = app.extensions["expertpool"].sessions()
    project = session.get(Project, setup.project_id)
    org = directory.save_organisation(
        session,
        actor="test",
        credit_code=project.tenderer_code,
        name=project.tenderer_name,
        is_tenderer=True,
    )
    contact = make_user(role="org_contact")
    directory.set_contact(session, actor="test", username=contact.username, organisation_id=org.id)
    return contact


@pytest.fixture()
def world(
    app: Flask, make_user: Callable[..., Any], fake_twilio_api: FakeTwilioApi
) -> Iterator[World]:
    """Probes with accounts, every role, a project evaluated tomorrow, Twilio against the fake."""
    restore = wire_twilio(app, fake_twilio_api)
    try:
        setup = make_setup(app, make_user, now=utcnow(), evaluation=evaluation_tomorrow())
        w = World(app=app, setup=setup, api=fake_twilio_api, make_user=make_user, probes=[])
        w.users = {
            "operator": setup.operator,
            "supervisor": setup.supervisor,
            "staff (same centre)": make_user(role="centre_staff", centre="440100"),
            "staff (other centre)": make_user(role="centre_staff", centre="440300"),
            "supervisor (not witness)": make_user(role="supervisor"),
            "reviewer": make_user(role="reviewer"),
            "admin": make_user(role="admin"),
            "security admin": make_user(role="security_admin"),
            "audit admin": make_user(role="audit_admin"),
            "tenderer contact": tenderer_contact(app, setup, make_user),
        }
        w.probes = add_probe_experts(app, POOL, make_user=make_user)
        yield w
    finally:
        restore()
        app.extensions["expertpool"].clock = utcnow
