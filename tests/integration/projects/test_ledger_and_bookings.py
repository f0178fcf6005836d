"""The hash-chained draw ledger, and seat bookings that never double-book a seat or an expert."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import text

from expertpool.core.calendar import CST
from expertpool.core.errors import Conflict
from expertpool.core.tokens import ExpertTokens
from expertpool.draws import ledger as draw_ledger
from expertpool.draws.models import LedgerKind
from expertpool.projects import venues
from expertpool.projects.venues import BookingWish

pytestmark = pytest.mark.integration
T0 = datetime(2026, 6, 5, 9, 0, tzinfo=CST)


def _append(session: Any, pid: int, draw_id: str, kind: LedgerKind, payload: Any = None) -> Any:
    return draw_ledger.append_entry(
        session,
        draw_id=draw_id,
        project_id=pid,
        kind=kind,
        payload=payload if payload is not None else {"draw_id": draw_id},
        operator="staff",
        supervisor="sv",
    )


def test_the_ledger_chains_a_draw_and_verifies(
    ready_project: tuple[FlaskClient, int], db_session: Any
) -> None:
    _, pid = ready_project
    first = _append(db_session, pid, "d-1", LedgerKind.COMMIT, '{"version":"draw-v1"}')
    second = _append(db_session, pid, "d-1", LedgerKind.SEALED)
    _append(db_session, pid, "d-1", LedgerKind.OPENED)
    db_session.commit()
    assert (first.payload, second.prev_hash) == ('{"version":"draw-v1"}', first.hash)
    assert draw_ledger.verify_ledger(db_session) == []
    assert [e.kind for e in draw_ledger.entries_for(db_session, "d-1")] == [
        LedgerKind.COMMIT,
        LedgerKind.SEALED,
        LedgerKind.OPENED,
    ]


@pytest.mark.parametrize(
    "steps, code",
    [
        ([LedgerKind.COMMIT, LedgerKind.COMMIT], "commitment_reused"),
        ([LedgerKind.SEALED], "no_commitment"),
        ([LedgerKind.COMMIT, LedgerKind.ABANDONED, LedgerKind.SEALED], "draw_closed"),
        ([LedgerKind.COMMIT, LedgerKind.FAILED, LedgerKind.OPENED], "not_sealed"),
    ],
)
def test_the_ledger_refuses_out_of_order_entries(
    ready_project: tuple[FlaskClient, int], db_session: Any, steps: list[LedgerKind], code: str
) -> None:
    _, pid = ready_project
    for kind in steps[:-1]:
        _append(db_session, pid, "d-2", kind)
    with pytest.raises(Conflict) as err:
        _append(db_session, pid, "d-2", steps[-1])
    assert err.value.code == code


def test_a_modified_ledger_entry_is_detected(
    ready_project: tuple[FlaskClient, int], db_session: Any
) -> None:
    _, pid = ready_project
    _append(db_session, pid, "d-3", LedgerKind.COMMIT)
    _append(db_session, pid, "d-3", LedgerKind.FAILED, {"reason": "infeasible"})
    db_session.commit()
    db_session.execute(
        text('UPDATE draw_ledger_entry SET payload = \'{"reason":"none"}\' WHERE seq = 2')
    )
    db_session.commit()
    problems = [str(p) for p in draw_ledger.verify_ledger(db_session)]
    assert problems == ["entry 2: content does not match its hash (modified)"]


def _experts(app: Flask, session: Any, count: int) -> list[int]:
    """Ids of `count` synthetic experts (bookings reference real expert rows)."""
    from sqlalchemy import select

    from expertpool.core.pii import PiiCipher
    from expertpool.demo import experts as expert_demo
    from expertpool.experts.models import Expert

    expert_demo.create_experts(
        session, cipher=PiiCipher.from_keys(app.extensions["expertpool"].keys), count=count, seed=5
    )
    session.commit()
    return list(session.execute(select(Expert.id).order_by(Expert.id)).scalars())


def _venue(db_session: Any, seats: int = 3) -> list[int]:
    venue = venues.create_venue(
        db_session, actor="t", centre_code="440100", name="一号厅", seats=seats
    )
    return [s.id for s in venue.seats]


def test_a_seat_and_an_expert_are_never_booked_twice_at_once(app: Flask, db_session: Any) -> None:
    s1, s2, _ = _venue(db_session)
    tok = ExpertTokens(app.extensions["expertpool"].keys).token
    e101, e102 = (tok(e) for e in _experts(app, db_session, 2))
    end = T0 + timedelta(hours=4)
    venues.book_seats(db_session, [BookingWish(s1, e101, T0, end)])
    db_session.commit()
    with pytest.raises(Conflict) as seat:
        venues.book_seats(
            db_session, [BookingWish(s1, e102, T0 + timedelta(hours=3), end + timedelta(hours=3))]
        )
    assert seat.value.code == "seat_taken"
    db_session.rollback()
    with pytest.raises(Conflict) as expert:
        venues.book_seats(db_session, [BookingWish(s2, e101, T0 + timedelta(hours=1), end)])
    assert expert.value.code == "expert_booked"
    db_session.rollback()
    # Back-to-back windows do not overlap; a released booking frees seat and expert.
    later = venues.book_seats(db_session, [BookingWish(s1, e101, end, end + timedelta(hours=2))])
    db_session.commit()
    venues.release_booking(db_session, later[0].id)
    db_session.commit()
    assert venues.is_expert_booked(db_session, e101, end, end + timedelta(hours=1)) is False
    assert [
        s.id for s in venues.free_seats(db_session, venues.get_venue(db_session, 1).id, T0, end)
    ] in ([s2, 3], [s2, s2 + 1])


def test_the_database_refuses_an_overlap_that_bypasses_the_service(
    app: Flask, db_session: Any
) -> None:
    from sqlalchemy.exc import IntegrityError

    from expertpool.projects.models import SeatBooking

    s1, s2, _ = _venue(db_session)
    tok = ExpertTokens(app.extensions["expertpool"].keys).token
    e7, e8 = (tok(e) for e in _experts(app, db_session, 2))
    db_session.add(
        SeatBooking(seat_id=s1, expert_token=e7, starts_at=T0, ends_at=T0 + timedelta(hours=2))
    )
    db_session.commit()
    for seat, expert in ((s1, e8), (s2, e7)):
        db_session.add(
            SeatBooking(
                seat_id=seat,
                expert_token=expert,
                starts_at=T0 + timedelta(hours=1),
                ends_at=T0 + timedelta(hours=3),
            )
        )
        with pytest.raises(IntegrityError):
            db_session.commit()
        db_session.rollback()


def _race(app: Flask, wishes: list[BookingWish]) -> tuple[int, list[str]]:
    """Book each wish from its own thread and session at the same moment; count successes."""
    sessions = app.extensions["expertpool"].sessions
    barrier = threading.Barrier(len(wishes))
    won: list[int] = []
    lost: list[str] = []

    def worker(wish: BookingWish) -> None:
        with app.app_context():
            session = sessions()
            try:
                barrier.wait(10)
                venues.book_seats(session, [wish])
                session.commit()
                won.append(wish.expert_token)
            except Conflict as exc:
                session.rollback()
                lost.append(exc.code)
            finally:
                sessions.remove()

    threads = [threading.Thread(target=worker, args=(w,)) for w in wishes]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return len(won), lost


def _concurrent_bookings_never_double_book(app: Flask) -> None:
    tok = ExpertTokens(app.extensions["expertpool"].keys).token
    session = app.extensions["expertpool"].sessions()
    seats = _venue(session, seats=8)
    ids = _experts(app, session, 9)
    app.extensions["expertpool"].sessions.remove()
    end = T0 + timedelta(hours=4)
    won, lost = _race(app, [BookingWish(seats[0], tok(ids[i]), T0, end) for i in range(8)])
    assert (won, sorted(set(lost))) == (1, ["seat_taken"])
    won, lost = _race(
        app,
        [BookingWish(seats[i], tok(ids[8]), T0 + timedelta(minutes=i), end) for i in range(1, 8)],
    )
    assert (won, sorted(set(lost))) == (1, ["expert_booked"])


def test_concurrent_bookings_never_double_book(app: Flask) -> None:
    _concurrent_bookings_never_double_book(app)


@pytest.mark.needs_postgres
def test_concurrent_bookings_never_double_book_on_postgresql(pg_app: Flask) -> None:
    _concurrent_bookings_never_double_book(pg_app)


def test_admins_register_terminals_whose_credential_is_shown_once(
    api: Callable[..., FlaskClient], db_session: Any
) -> None:
    from expertpool.projects.models import Terminal

    admin = api("admin")
    resp = admin.post("/api/terminals", json={"centre": "440100", "name": "终端A"})
    assert resp.status_code == 201
    clear = resp.get_json()["credential"]
    assert clear.startswith("term_") and len(clear) > 40
    stored = db_session.get(Terminal, resp.get_json()["id"])
    assert stored.token_hash != clear and clear not in str(
        admin.get("/api/terminals").get_data(as_text=True)
    )
    again = admin.post("/api/terminals", json={"centre": "440100", "name": "终端A"})
    assert again.get_json()["error"]["fields"] == {"name": "该交易中心已有同名终端。"}
    assert set(
        admin.post("/api/terminals", json={"centre": "1", "name": ""}).get_json()["error"]["fields"]
    ) == {"centre", "name"}


def test_admins_create_venues_with_numbered_seats(api: Callable[..., FlaskClient]) -> None:
    admin = api("admin")
    resp = admin.post("/api/venues", json={"centre": "440300", "name": "远程厅", "seats": 5})
    assert resp.status_code == 201 and resp.get_json()["seats"] == [1, 2, 3, 4, 5]
    bad = admin.post("/api/venues", json={"centre": "440300", "name": "远程厅2", "seats": 0})
    assert bad.get_json()["error"]["fields"] == {"seats": "工位数 1 至 500。"}
    assert [v["name"] for v in api("supervisor").get("/api/venues").get_json()["items"]] == [
        "远程厅"
    ]


def test_the_draw_keys_are_public_and_rotation_keeps_the_old_ones(
    app: Flask, client: FlaskClient
) -> None:
    keys = app.extensions["expertpool"].keys
    before = client.get("/api/keys").get_json()
    assert before["current"] in before["keys"]
    keys.rotate_draw()
    after = client.get("/api/keys").get_json()
    assert after["current"] != before["current"]
    assert after["keys"][before["current"]] == before["keys"][before["current"]]
    page = client.get("/keys").get_data(as_text=True)
    for key_id, pub in after["keys"].items():
        assert f'data-key="{key_id}">{pub}<' in page
