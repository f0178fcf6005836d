"""The opening act: one act by the main venue's host and a supervisor opens every sealed draw of
the lot and creates the session from what the draws hold: exactly the experts who accepted, at
their booked venue and seat; all or nothing."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from expertpool.core.errors import Conflict, Forbidden
from expertpool.draws import panels, sealing
from expertpool.draws.models import Draw, DrawStatus
from expertpool.experts.models import Expert
from expertpool.rooms import opening
from expertpool.rooms import sessions as rooms
from tests.conftest import PASSWORD, csrf_token
from tests.integration.draws.conftest import EVALUATION, NOW, Setup, add_experts

pytestmark = pytest.mark.integration


def _accept_all(setup: Setup, d: Draw, only: int | None = None) -> list[int]:
    """Every primary (or the first `only`) accepts, each taking a seat."""
    result = sealing.open_result(d, setup.keys)
    primaries = [int(e) for e in result.groups[0].primaries][:only]
    for expert in primaries:
        panels.record_answer(
            setup.session,
            draw_id=d.draw_id,
            expert_id=expert,
            answer="accepted",
            ctx=setup.notify_ctx,
            now=NOW,
        )
    return primaries


def _open(setup: Setup, *, password: str = PASSWORD, supervisor: Any = None) -> Any:
    setup.clock.now = EVALUATION
    return opening.open_lot(
        setup.session,
        project_id=setup.project_id,
        lot_id=None,
        actor=setup.operator,
        supervisor_username=(supervisor or setup.supervisor).username,
        supervisor_password=password,
        keys=setup.keys,
        settings=rooms.room_settings(setup.config),
        now=EVALUATION,
    )


def _members(row: Any, keys: Any) -> dict[str, list[Any]]:
    state = rooms.state_of(row, keys)
    out: dict[str, list[Any]] = {}
    for p in state["participants"]:
        out.setdefault(p["role"], []).append(p)
    return out


def test_the_opening_seats_the_accepted_at_their_seats_with_host_and_supervisor(
    setup: Setup,
) -> None:
    add_experts(setup.app, 12, start=300)
    d = setup.full_draw()
    accepted = _accept_all(setup, d)
    row = _open(setup)
    people = _members(row, setup.keys)
    experts = list(setup.session.execute(select(Expert).where(Expert.id.in_(accepted))).scalars())
    # Imported experts get an account at the opening (no usable password until activated).
    assert all(e.user_id is not None for e in experts)
    assert sorted(int(p["user_id"]) for p in people["expert"]) == sorted(
        int(e.user_id or 0) for e in experts
    )
    assert all(p["seat"] and p["venue_id"].startswith("v") for p in people["expert"])
    assert [p["user_id"] for p in people["host"]] == [str(setup.operator.id)]
    assert [p["user_id"] for p in people["supervisor"]] == [str(setup.supervisor.id)]
    assert setup.session.get(Draw, d.id).status is DrawStatus.OPENED
    assert row.project_id == setup.project_id


def test_the_session_holds_the_accepted_and_no_one_else(setup: Setup) -> None:
    add_experts(setup.app, 12, start=400)
    d = setup.full_draw()
    accepted = set(_accept_all(setup, d, only=3))
    row = _open(setup)
    users = {int(p["user_id"]) for p in _members(row, setup.keys)["expert"]}
    by_user = {
        uid: eid
        for uid, eid in setup.session.execute(
            select(Expert.user_id, Expert.id).where(Expert.user_id.in_(users))
        )
    }
    assert set(by_user.values()) == accepted


def test_a_wrong_supervisor_password_opens_nothing_and_creates_nothing(setup: Setup) -> None:
    add_experts(setup.app, 12, start=500)
    d = setup.full_draw()
    _accept_all(setup, d)
    with pytest.raises(Forbidden):
        _open(setup, password="wrong-password-1")
    setup.session.rollback()
    assert setup.session.get(Draw, d.id).status is DrawStatus.SEALED
    assert rooms.all_sessions(setup.session) == []


def test_the_lot_opens_once(setup: Setup) -> None:
    add_experts(setup.app, 12, start=600)
    d = setup.full_draw()
    _accept_all(setup, d)
    _open(setup)
    with pytest.raises(Conflict) as info:
        _open(setup)
    assert info.value.code == "already_open"


def test_a_supervisor_of_another_department_cannot_co_open(setup: Setup, make_user: Any) -> None:
    add_experts(setup.app, 12, start=800)
    d = setup.full_draw()
    _accept_all(setup, d)
    outsider = make_user(role="supervisor", department="440300-coordination")
    with pytest.raises(Forbidden) as info:
        _open(setup, supervisor=outsider)
    assert info.value.code == "supervisor_refused"
    setup.session.rollback()
    assert setup.session.get(Draw, d.id).status is DrawStatus.SEALED


def test_the_draw_page_opens_the_session_and_lands_in_the_room(
    setup: Setup, client: FlaskClient, login: Any
) -> None:
    from expertpool.projects import terminals

    add_experts(setup.app, 12, start=900)
    d = setup.full_draw()
    _accept_all(setup, d)
    setup.clock.now = EVALUATION
    host = login(client, setup.operator)
    host.set_cookie(terminals.COOKIE, setup.terminal_token)
    page = f"/draws/{d.draw_id}"
    assert 'data-testid="open-form"' in host.get(page).get_data(as_text=True)
    resp = host.post(
        f"/rooms/open/{setup.project_id}",
        data={
            "csrf_token": csrf_token(host, page),
            "lot_id": "",
            "username": setup.supervisor.username,
            "password": PASSWORD,
        },
    )
    assert resp.status_code == 302 and "/rooms/r" in resp.headers["Location"]
    assert host.get(resp.headers["Location"]).status_code == 200


def test_the_named_representatives_sit_at_the_main_venue_with_their_own_accounts(
    setup: Setup, make_user: Any
) -> None:
    from datetime import date

    from expertpool.accounts.models import User, UserRole
    from expertpool.core.pii import PiiCipher
    from expertpool.experts.identity import make_id_number
    from expertpool.organisations import directory, representatives
    from expertpool.projects.models import Project

    project = setup.session.get(Project, setup.project_id)
    project.tenderer_representatives = 2  # 5 drawn + 2: odd, experts at least two thirds
    setup.session.commit()
    org = directory.save_organisation(
        setup.session,
        actor="t",
        credit_code=project.tenderer_code,
        name=project.tenderer_name,
        is_tenderer=True,
    )
    contact = make_user(role="org_contact")
    directory.set_contact(
        setup.session, actor="t", username=contact.username, organisation_id=org.id
    )
    representatives.name_representative(
        setup.session,
        actor=contact,
        project=project,
        name="招标人代表甲",
        organisation_name=project.tenderer_name,
        id_number=make_id_number("440103", date(1980, 1, 2), 5),
        phone="13800138005",
        cipher=PiiCipher.from_keys(setup.keys),
        today=date(2026, 1, 1),
    )
    add_experts(setup.app, 12, start=1000)
    d = setup.full_draw()
    _accept_all(setup, d)
    row = _open(setup)
    people = _members(row, setup.keys)
    (rep,) = people["representative"]
    user = setup.session.get(User, int(rep["user_id"]))
    assert user.role is UserRole.REPRESENTATIVE and user.display_name == "招标人代表甲"
    main = next(v["venue_id"] for v in rooms.state_of(row, setup.keys)["venues"] if v["is_main"])
    assert rep["venue_id"] == main


def test_after_the_opening_the_database_links_no_expert_to_the_project(setup: Setup) -> None:
    """The opened column of the visibility table for a reader of the database without the key
    files: the session's rows, events and audit entries name no seated expert."""
    from sqlalchemy import text

    from expertpool.accounts.models import User

    add_experts(setup.app, 12, start=1100)
    d = setup.full_draw()
    accepted = _accept_all(setup, d)
    row = _open(setup)
    experts = list(setup.session.execute(select(Expert).where(Expert.id.in_(accepted))).scalars())
    accounts = [setup.session.get(User, e.user_id) for e in experts]
    markers = [e.name for e in experts] + [f'"user_id":"{u.id}"' for u in accounts]
    words = {u.username for u in accounts}
    conn = setup.session
    # Every cell in full (a Row's repr truncates long values).
    dumps = {
        table: "\n".join(
            str(cell) for row in conn.execute(text(f"SELECT * FROM {table}")) for cell in row
        )
        for table in ("evaluation_session", "room_participant", "room_event", "audit_entry")
    }
    actors = set(conn.execute(text("SELECT actor FROM audit_entry")).scalars())
    columns = set(conn.execute(text("SELECT * FROM room_participant LIMIT 0")).keys())
    assert "user_id" not in columns and "user_token" in columns
    for table, dump in dumps.items():
        for marker in markers:
            assert marker not in dump, (table, marker)
    assert not (actors & words)
    # With the key files the application still reads everything.
    assert len(_members(row, setup.keys)["expert"]) == len(accepted)


def test_the_project_page_tells_the_story_without_naming_anyone(
    setup: Setup, client: FlaskClient, login: Any
) -> None:
    add_experts(setup.app, 12, start=1300)
    d = setup.full_draw()
    accepted = _accept_all(setup, d)
    host = login(client, setup.operator)
    before = host.get(f"/projects/{setup.project_id}").get_data(as_text=True)
    assert 'data-step="draw"' in before and 'data-step="session"' not in before
    assert d.commit_digest[:16] in before
    row = _open(setup)
    page = host.get(f"/projects/{setup.project_id}").get_data(as_text=True)
    for step in ("project", "request", "draw", "opening", "session"):
        assert f'data-step="{step}"' in page, step
    assert f"/rooms/{row.room_id}" in page
    names = [
        e.name
        for e in setup.session.execute(select(Expert).where(Expert.id.in_(accepted))).scalars()
    ]
    assert not any(n in page for n in names)


def test_after_opening_a_secondary_venue_sees_only_the_experts_seated_there(
    setup: Setup, make_user: Any, client: FlaskClient, login: Any
) -> None:
    from expertpool.accounts.models import Centre
    from expertpool.projects import venues
    from expertpool.projects.models import Project, SecondaryVenue

    session = setup.session
    sz = session.execute(select(Centre).where(Centre.region_code == "440300")).scalar_one()
    project = session.get(Project, setup.project_id)
    project.is_remote = True
    project.secondary_venues.append(SecondaryVenue(centre=sz))
    session.commit()
    venues.create_venue(session, actor="t", centre_code="440300", name="深圳副场", seats=20)
    # Four in each city and five seats: both venues are always filled (never all in one city).
    add_experts(setup.app, 4, start=1400, region="440300")  # seated in Shenzhen
    add_experts(setup.app, 4, start=1500, region="440100")  # seated in Guangzhou
    d = setup.full_draw(groups=[{"specialties": ["A01"], "count": 5, "backups": 1}])
    _accept_all(setup, d)
    row = _open(setup)
    state = rooms.state_of(row, setup.keys)
    by_venue: dict[str, set[str]] = {}
    for p in state["participants"]:
        if p["role"] == "expert":
            by_venue.setdefault(p["venue_id"], set()).add(p["name"])
    hosts = {p["venue_id"]: p["user_id"] for p in state["participants"] if p["role"] == "host"}
    sz_staff = make_user(role="centre_staff", centre="440300")
    other = make_user(role="centre_staff", centre="440600")
    assert len(by_venue) == 2 and str(setup.operator.id) in hosts.values()
    sz_venue = next(v for v, names in by_venue.items() if v != hosts_main(state))
    page = login(client, sz_staff).get(f"/draws/{d.draw_id}/panel")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert all(n in html for n in by_venue[sz_venue])
    assert not any(n in html for v, names in by_venue.items() if v != sz_venue for n in names)
    assert login(setup.app.test_client(), other).get(f"/draws/{d.draw_id}/panel").status_code == 403


def hosts_main(state: dict[str, Any]) -> str:
    return next(v["venue_id"] for v in state["venues"] if v["is_main"])
