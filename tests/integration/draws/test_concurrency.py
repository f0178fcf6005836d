"""Twenty draws at once on PostgreSQL over a small pool: no expert is ever booked twice."""

from __future__ import annotations

import threading
from collections import Counter, defaultdict
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

import draw
from expertpool.accounts import users
from expertpool.accounts.models import Centre
from expertpool.core.errors import Conflict
from expertpool.departments import members
from expertpool.draws import panels, sealing
from expertpool.draws import protocol as draws
from expertpool.draws.models import DrawStatus
from expertpool.draws.rules import DrawRules
from expertpool.notifications.notifier import services_of
from expertpool.projects import projects, terminals, venues
from expertpool.projects.models import SeatBooking
from tests.conftest import PASSWORD
from tests.integration.draws.conftest import BIDDERS, EVALUATION, NOW, add_experts
from tests.integration.projects.conftest import project_payload

pytestmark = [pytest.mark.integration, pytest.mark.needs_postgres, pytest.mark.slow]
DRAWS = 20


def _in_threads(app: Flask, jobs: list[Any]) -> list[BaseException]:
    errors: list[BaseException] = []
    barrier = threading.Barrier(len(jobs))

    def work(job: Any) -> None:
        with app.app_context():
            try:
                barrier.wait()
                job(app.extensions["expertpool"].sessions())
            except BaseException as exc:  # reported to the test below
                errors.append(exc)
            finally:
                app.extensions["expertpool"].sessions.remove()

    threads = [threading.Thread(target=work, args=(j,)) for j in jobs]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    return errors


def test_twenty_simultaneous_draws_and_acceptances_never_double_book_an_expert(
    pg_app: Flask,
) -> None:
    from expertpool.draws import requests as draw_requests

    st = pg_app.extensions["expertpool"]
    s = st.sessions()
    add_experts(pg_app, 30)
    operator = users.create_user(
        s,
        actor="t",
        username="operator1",
        display_name="操作员",
        password=PASSWORD,
        role="centre_staff",
        centre_code="440100",
    )
    users.create_user(
        s,
        actor="t",
        username="supervisor1",
        display_name="监督",
        password=PASSWORD,
        role="supervisor",
        centre_code=None,
    )
    members.assign(
        s,
        actor="t",
        username="supervisor1",
        department_id=members.by_code(s, "440000-coordination").id,
    )
    centre_id = s.execute(select(Centre.id).where(Centre.region_code == "440100")).scalar_one()
    venues.create_venue(s, actor="t", centre_code="440100", name="大厅", seats=DRAWS * 5)
    _token, terminal = terminals.register_terminal(s, actor="t", centre_code="440100", name="T1")
    draw_ids = []
    for i in range(DRAWS):
        p = projects.create_project(
            s,
            actor="t",
            owner_centre_id=centre_id,
            data=project_payload(code=f"GZ-C-{i:02d}"),
            now=NOW,
        )
        projects.add_bidder(s, actor="t", project_id=p.id, credit_code=BIDDERS[0], name="b")
        projects.mark_ready(s, actor="t", project_id=p.id)
        req = draw_requests.create_draw_request(
            s,
            actor=operator,
            terminal=terminal,
            project_id=p.id,
            data={"groups": [{"specialties": ["A01"], "count": 5, "backups": 5}]},
            rules=DrawRules.from_config(st.config),
            now=NOW,
        )
        d = draws.prepare_draw(
            s,
            actor=operator,
            terminal=terminal,
            request_id=req.id,
            keys=st.keys,
            config=st.config,
            now=NOW,
        )
        draws.witness_operator(
            s, draw_id=d.draw_id, actor=operator, terminal=terminal, digits=f"{i:06d}1", now=NOW
        )
        draws.witness_supervisor(
            s,
            draw_id=d.draw_id,
            terminal=terminal,
            username="supervisor1",
            password=PASSWORD,
            digits=f"{i:06d}2",
            now=NOW,
        )
        draw_ids.append(d.draw_id)
    op_id, term_id = operator.id, terminal.id

    def runner(draw_id: str) -> Any:
        def job(session: Any) -> None:
            from expertpool.accounts.models import User
            from expertpool.projects.models import Terminal

            draws.run_draw(
                session,
                draw_id=draw_id,
                actor=session.get(User, op_id),
                terminal=session.get(Terminal, term_id),
                keys=st.keys,
                config=st.config,
                now=NOW,
                ctx=services_of(pg_app).ctx,
            )

        return job

    assert _in_threads(pg_app, [runner(x) for x in draw_ids]) == []
    s.expire_all()
    sealed = [draws.get_draw(s, x) for x in draw_ids]
    assert all(d.status is DrawStatus.SEALED for d in sealed)

    outcomes: Counter[str] = Counter()
    counted = threading.Lock()

    def acceptor(draw_id: str) -> Any:
        def job(session: Any) -> None:
            d = draws.get_draw(session, draw_id)
            for expert in sealing.open_result(d, st.keys).groups[0].primaries:
                # Any other error (a deadlock, a serialisation failure, a 500) fails the test.
                try:
                    invitee = panels.record_answer(
                        session,
                        draw_id=draw_id,
                        expert_id=int(expert),
                        answer="accepted",
                        ctx=services_of(pg_app).ctx,
                        now=NOW,
                    )
                except Conflict as exc:
                    session.rollback()
                    if exc.code != "invitation_closed":
                        raise
                    outcome = "closed"
                else:
                    assert invitee is not None
                    outcome = f"{invitee.status.value}:{invitee.reason}"
                with counted:
                    outcomes[outcome] += 1

        return job

    errors = _in_threads(pg_app, [acceptor(x) for x in draw_ids])
    assert errors == []
    # Every primary's answer ended one of two ways: seated, or found booked by another draw
    # (thirty experts, a hundred primaries: most are booked elsewhere by the time they accept).
    assert sum(outcomes.values()) == DRAWS * 5, outcomes
    assert set(outcomes) <= {"accepted:", "unavailable:booked_meanwhile"}, outcomes
    assert outcomes["accepted:"] >= 1 and outcomes["unavailable:booked_meanwhile"] >= 1, outcomes
    s.expire_all()
    live = s.execute(select(SeatBooking).where(SeatBooking.released_at.is_(None))).scalars().all()
    per_expert: dict[str, int] = defaultdict(int)
    for b in live:
        assert b.starts_at == EVALUATION.astimezone(b.starts_at.tzinfo)
        per_expert[b.expert_token] += 1
    assert live and max(per_expert.values()) == 1
    assert len(live) == len(per_expert) <= 30  # thirty experts, each seated at most once
    assert len(live) == outcomes["accepted:"]  # each acceptance holds exactly one seat
    # Every draw still verifies after opening.
    for d in sealed:
        assert (
            draw.verify_sealed(
                sealing.open_sealed(d, st.keys),
                d.public_key,
                d.commit_signature,
                d.sealed_signature,
            )
            == []
        )
