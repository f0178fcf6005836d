"""The whole chain in a browser, with the console provider: a sealed draw; the drawn experts answer
the calls on the outbox simulation page; the main host and a supervisor open the draw at the
evaluation start, which creates the room with exactly the accepted experts and the named
representative; an expert activates the account by SMS code, logs in and checks in with the code
read off the simulation page; one exhausts the check-in codes and is verified in person; one is
found conflicted at check-in, leaves, and the next backup (who accepts on the simulation page) is
seated; the committee scores and signs, and the signed-off report records all of it."""

from __future__ import annotations

import io
import re
import threading
from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from typing import Any

import pytest
from flask import Flask
from pypdf import PdfReader
from sqlalchemy import select

from expertpool.accounts import users
from expertpool.accounts.models import User
from expertpool.core.calendar import CST, cst_date
from expertpool.core.db import utcnow
from expertpool.core.pii import PiiCipher
from expertpool.draws import sealing
from expertpool.draws.models import DrawInvitee, InviteeStatus
from expertpool.experts.identity import make_id_number
from expertpool.experts.models import AvoidanceKind, Expert, ExpertAvoidance
from expertpool.notifications import dispatcher
from expertpool.notifications.notifier import services_of
from expertpool.organisations import directory, representatives
from expertpool.projects.models import Project
from expertpool.reports.signing import verify_pdf
from tests.conftest import PASSWORD, LiveServer
from tests.e2e.conftest import browser_for, enter_bidders
from tests.integration.draws.conftest import BIDDERS, add_experts, make_setup
from tests.integration.projects.conftest import Clock
from tests.integration.room.live import LiveMember

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
REP_NAME = "招标人代表乙"
BIDS = [("B001", "甲公司", "1000000"), ("B002", "乙公司", "950000")]


def _press_1_on_every_live_call(console: Any, base: str) -> int:
    """Answer every ringing simulated call with 1 (accept); returns how many."""
    console.goto(base + "/admin/outbox/simulation")
    answered = 0
    while console.locator("[data-testid=press-1]").count():
        with console.expect_navigation():
            console.locator("[data-testid=press-1]").first.click()
        answered += 1
    return answered


def _dispatch(app: Flask) -> None:
    st, services = app.extensions["expertpool"], services_of(app)
    dispatcher.dispatch_once(st.sessions, services.notifier, now=st.clock(), ctx=services.ctx)
    st.sessions.remove()


def _newest_check_in_code(console: Any, base: str) -> str:
    console.goto(base + "/admin/outbox/simulation")
    text = console.locator("[data-testid=direct-sms] tbody tr").first.inner_text()
    found = re.search(r"签到码为(\d{6})", text)
    assert found, text
    return found.group(1)


def _confirm(host: Any, name: str, seat: str) -> None:
    """The host confirms the person in the row (typing a seat when none is booked)."""
    row = host.locator(f"tr:has(td:text-is('{name}'))")
    if not row.locator("input[data-seat]").input_value():
        row.locator("input[data-seat]").fill(seat)
    row.locator("[data-act=confirm]").click()
    _wait_checked_in(host, name)


def _wait_checked_in(host: Any, name: str) -> None:
    host.wait_for_selector(f"tr:has(td:text-is('{name}')) td[data-col=checked-in]:has-text('是')")


def test_from_the_sealed_draw_to_the_signed_report_in_the_browser(
    app: Flask, make_user: Callable[..., Any], browser: Any, e2e_app: Flask
) -> None:
    now = utcnow()
    evaluation = datetime.combine(cst_date(now) + timedelta(days=2), time(9, 0), tzinfo=CST)
    s = make_setup(app, make_user, now=now, evaluation=evaluation, project_code="CHAIN-1")
    cipher = PiiCipher.from_keys(s.keys)
    db = s.session
    project = db.get(Project, s.project_id)
    project.tenderer_representatives = 1  # four drawn experts and one representative
    db.commit()
    org = directory.save_organisation(
        db,
        actor="t",
        credit_code=project.tenderer_code,
        name=project.tenderer_name,
        is_tenderer=True,
    )
    contact = make_user(role="org_contact")
    directory.set_contact(db, actor="t", username=contact.username, organisation_id=org.id)
    representatives.name_representative(
        db,
        actor=contact,
        project=project,
        name=REP_NAME,
        organisation_name=project.tenderer_name,
        id_number=make_id_number("440103", date(1979, 3, 4), 7),
        phone="13800138007",
        cipher=cipher,
        today=cst_date(now),
    )
    add_experts(app, 12, start=1700)
    d = s.full_draw(groups=[{"specialties": ["A01"], "count": 4, "backups": 3}])
    result = sealing.open_result(d, s.keys)  # the test's own knowledge, never shown before opening
    primaries = [int(e) for e in result.groups[0].primaries]
    backups = [int(e) for e in result.groups[0].backups]
    names = dict(db.execute(select(Expert.id, Expert.name)).all())
    admin = make_user(role="admin")
    app.extensions["expertpool"].clock = utcnow
    db.commit()
    app.extensions["expertpool"].sessions.remove()

    server = LiveServer(e2e_app)
    errors: list[str] = []
    pages: list[Any] = []
    clients: list[LiveMember] = []
    try:
        console = browser_for(browser, server, app, admin, errors)
        pages.append(console)
        base = server.url

        # 1. The drawn experts are called; each answers 1 on the simulation page.
        _dispatch(e2e_app)
        assert _press_1_on_every_live_call(console, base) == len(primaries)
        accepted = db.execute(
            select(DrawInvitee).where(
                DrawInvitee.draw_pk == d.id, DrawInvitee.status == InviteeStatus.ACCEPTED
            )
        ).all()
        assert len(accepted) == len(primaries)
        db.rollback()

        # 2. At the evaluation start the host and a supervisor open the draw: the room appears.
        e2e_app.extensions["expertpool"].clock = Clock(evaluation)
        host = browser_for(browser, server, app, s.operator, errors)
        pages.append(host)
        host.goto(f"{base}/draws/{d.draw_id}")
        opening_form = host.locator("[data-testid=open-form]")
        opening_form.locator("select[name=username]").select_option(s.supervisor.username)
        opening_form.locator("input[name=password]").fill(PASSWORD)
        with host.expect_navigation():
            opening_form.locator("button[type=submit]").click()
        assert re.search(r"/rooms/r[^/]+$", host.url), host.locator("p.flash").all_inner_texts()
        room_id = host.url.rsplit("/", 1)[1]
        host.wait_for_selector("[data-testid=conn][data-state=connected]")
        host.wait_for_function(
            "document.querySelectorAll('[data-testid=members] tr[data-alias]').length === 5"
        )
        assert (
            host.locator("[data-testid=members] tr td:nth-child(2)").all_inner_texts() == [""] * 5
        )  # the room is created, not yet opened: the host sees aliases only

        # Accounts exist for the seated people; the test gives the python clients passwords.
        def detached(user: User | None) -> User:
            """The account as loaded now, off the session, whose transaction ends here (on
            SQLite an open read would hold the live server's writes back)."""
            assert user is not None
            assert user.password_changed_at is not None  # loaded before detaching
            db.expunge(user)
            db.rollback()
            return user

        def account(expert_id: int) -> User:
            expert = db.get(Expert, expert_id)
            assert expert is not None and expert.user_id is not None
            return detached(db.get(User, expert.user_id))

        def rep_account() -> User:
            return detached(
                db.execute(select(User).where(User.display_name == REP_NAME)).scalar_one()
            )

        browser_expert, no_signal, conflicted, plain = primaries
        for user in (account(no_signal), account(conflicted), account(plain), rep_account()):
            users.set_password(db, actor="test", user_id=user.id, password=PASSWORD)
        db.commit()

        # 3. The host enters the bids, opens the session and starts check-in.
        enter_bidders(host, base, room_id, BIDS)
        for action, phase in (("open", "opened"), ("start_check_in", "check_in")):
            host.click(f"[data-phase={action}]")
            host.wait_for_function(
                f"document.querySelector('[data-testid=phase]').dataset.phase === '{phase}'"
            )

        seated = {
            cell.strip()
            for cell in host.locator("[data-testid=members] tr td:nth-child(2)").all_inner_texts()
        }
        assert seated == {names[e] for e in primaries} | {REP_NAME}

        # 4. The first expert activates the account with an SMS code and logs in.
        username = account(browser_expert).username
        db.rollback()
        ctx = browser.new_context(locale="zh-CN", viewport={"width": 390, "height": 844})
        ctx.set_default_timeout(15_000)
        expert_page = ctx.new_page()
        expert_page.on("pageerror", lambda e: errors.append(str(e)))
        pages.append(expert_page)
        expert_page.goto(base + "/account/activate")
        expert_page.fill("input[name=identifier]", username)
        expert_page.click("[data-testid=activate-start] button[type=submit]")
        expert_page.wait_for_url("**/account/activate/code")
        _dispatch(e2e_app)
        console.goto(base + "/admin/outbox/simulation")
        sms = console.locator("tr[data-kind=account_code_sms]").first.inner_text()
        code = re.search(rf"账户{re.escape(username)}的验证码为(\d{{6}})", sms)
        assert code, sms
        expert_page.fill("input[name=code]", code.group(1))
        expert_page.fill("input[name=new_password]", "Pool-Chain-2026!")
        expert_page.fill("input[name=confirm_password]", "Pool-Chain-2026!")
        expert_page.click("[data-testid=activate-finish] button[type=submit]")
        expert_page.wait_for_url("**/login")
        expert_page.fill("input[name=username]", username)
        expert_page.fill("input[name=password]", "Pool-Chain-2026!")
        expert_page.click("main button.primary[type=submit]")
        expert_page.wait_for_url("**/dashboard")
        expert_page.locator(f"[data-testid=my-sessions] a[href$='{room_id}']").click()
        expert_page.wait_for_selector("[data-testid=conn][data-state=connected]")

        # ...and checks in with the code the simulation page shows for their phone.
        expert_page.click("[data-testid=request-code]")
        expert_page.wait_for_function(
            "document.querySelector('[data-testid=code]').placeholder !== ''"
        )
        expert_page.fill("[data-testid=code]", _newest_check_in_code(console, base))
        expert_page.click("[data-testid=enter-code]")
        expert_page.wait_for_selector("[data-testid=checkin-wait]")
        row = host.locator(f"tr:has(td:text-is('{names[browser_expert]}'))")
        row.locator("[data-act=confirm]").click()
        _wait_checked_in(host, names[browser_expert])

        # 5. The others join as python clients (their own logins).
        member = {
            who: LiveMember(server, app, user)
            for who, user in (
                ("no_signal", account(no_signal)),
                ("conflicted", account(conflicted)),
                ("plain", account(plain)),
                ("rep", rep_account()),
            )
        }
        db.rollback()
        clients.extend(member.values())
        for m in member.values():
            assert m.call("join", room_id=room_id)["ok"]

        # One member asks for three codes that never arrive: the host checks the ID card in person.
        for _ in range(3):
            assert member["no_signal"].call("request_code", room_id=room_id)["ok"]
        row = host.locator(f"tr:has(td:text-is('{names[no_signal]}'))")
        row.locator("input[data-seat]").fill("A-07")
        host.once("dialog", lambda dialog: dialog.accept())
        row.locator("[data-act=in-person][data-reason=codes_failed]").click()
        _wait_checked_in(host, names[no_signal])

        # The representative and one expert check in by code.
        for who, name in (("plain", names[plain]), ("rep", REP_NAME)):
            assert member[who].call("request_code", room_id=room_id)["ok"]
            sent = _newest_check_in_code(console, base)
            assert member[who].call("enter_code", room_id=room_id, code=sent)["ok"]
            _confirm(host, name, "A-09")  # the representative has no booked seat

        # 6. One expert turns out to be tied to a bidder: the check at check-in takes them off.
        db.add(
            ExpertAvoidance(
                expert_id=conflicted,
                org_code=BIDDERS[0],
                org_name="投标人",
                kind=AvoidanceKind.RELATIVE,
            )
        )
        db.commit()
        assert member["conflicted"].call("request_code", room_id=room_id)["ok"]
        sent = _newest_check_in_code(console, base)
        assert member["conflicted"].call("enter_code", room_id=room_id, code=sent)["ok"]
        host.locator(f"tr:has(td:text-is('{names[conflicted]}')) [data-act=confirm]").click()
        host.wait_for_selector("[data-act=fill]")  # the seat is vacant; the next backup is called
        _dispatch(e2e_app)
        assert _press_1_on_every_live_call(console, base) == 1
        host.locator("[data-act=fill]").click()
        host.wait_for_function(
            "document.querySelectorAll('[data-testid=members] tr[data-alias]').length === 6"
        )
        shown = {
            cell.strip()
            for cell in host.locator("[data-testid=members] tr td:nth-child(2)").all_inner_texts()
        }
        # The group's first backup, by draw-v1's rank, takes the seat.

        assert shown - seated == {names[backups[0]]}
        newcomer = backups[0]
        users.set_password(db, actor="test", user_id=account(newcomer).id, password=PASSWORD)
        db.commit()
        newcomer_user = account(newcomer)
        member["backup"] = LiveMember(server, app, newcomer_user)
        clients.append(member["backup"])
        assert member["backup"].call("request_code", room_id=room_id)["ok"]
        sent = _newest_check_in_code(console, base)
        assert member["backup"].call("enter_code", room_id=room_id, code=sent)["ok"]
        _confirm(host, names[newcomer], "A-10")

        # 7. Election, scoring, signing, archive.
        active = ["no_signal", "plain", "rep", "backup"]
        host.click("[data-phase=start_election]")
        expert_page.wait_for_selector("[data-testid=vote]")
        leader = expert_page.locator("[data-testid=candidate] option").first.inner_text()
        expert_page.select_option("[data-testid=candidate]", leader)
        expert_page.click("[data-testid=vote]")
        for who in active:
            assert member[who].call("vote", room_id=room_id, candidate=leader)["ok"]
        host.wait_for_selector(f"[data-testid=leader]:has-text('{leader}')")
        host.click("[data-phase=start_scoring]")
        expert_page.wait_for_selector("[data-testid=sheet] input")
        for bidder in ("B001", "B002"):
            expert_page.fill(f"input[data-bidder={bidder}][data-item=tech]", "40")
            expert_page.fill(f"input[data-bidder={bidder}][data-item=service]", "15")
        expert_page.click("[data-testid=submit-sheet]")
        expert_page.wait_for_selector("[data-testid=sheet-done]")
        scores = {b: {"tech": "40", "service": "15"} for b in ("B001", "B002")}
        for who in active:
            assert member[who].call("submit_sheet", room_id=room_id, scores=scores)["ok"]
        for action, phase in (("finalise", "finalised"), ("start_signing", "signing")):
            host.click(f"[data-phase={action}]")
            host.wait_for_function(
                f"document.querySelector('[data-testid=phase]').dataset.phase === '{phase}'"
            )
        expert_page.wait_for_selector("[data-testid=sign]")
        expert_page.fill("[data-testid=sign-password]", "Pool-Chain-2026!")
        expert_page.click("[data-testid=sign]")
        expert_page.wait_for_selector("[data-testid=signatures] li")
        digest = member["plain"].call("report", room_id=room_id)["report_digest"]
        for who in active:
            signed = member[who].call(
                "sign", room_id=room_id, verdict="agree", report_digest=digest, password=PASSWORD
            )
            assert signed["ok"], signed
        host.wait_for_function(
            "document.querySelectorAll('[data-testid=signatures] li').length === 5"
        )
        host.click("[data-phase=archive]")
        host.wait_for_function(
            "document.querySelector('[data-testid=phase]').dataset.phase === 'archived'"
        )

        # 8. The signed-off report records the in-person check and the replacement.
        pdf = host.request.get(f"{base}/rooms/{room_id}/report.pdf")
        assert pdf.ok
        text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.body())).pages)
        assert "现场核验身份证（验证码未通过）" in text
        # The signed, named report the centre issued at sign-off: the supervisor reads it; it
        # names the committee, the replacement with its reason, and its signature validates.
        sup = browser_for(browser, server, app, s.supervisor, errors)
        pages.append(sup)
        signed = sup.request.get(f"{base}/reports/{room_id}.pdf")
        assert signed.ok
        named = "".join(p.extract_text() for p in PdfReader(io.BytesIO(signed.body())).pages)
        for name in (names[browser_expert], names[no_signal], names[newcomer], REP_NAME):
            assert name in named, name
        assert names[conflicted] in named  # listed as replaced, with the reason
        assert "回避：本人申报的关联单位或近亲属单位涉及本项目" in named
        trusted = e2e_app.extensions["expertpool"].keys.report_certificates()
        assert verify_pdf(signed.body(), trusted).is_ok
        host.goto(f"{base}/projects/{s.project_id}")
        assert room_id in host.content()
        assert errors == []
    finally:
        for page in pages:
            page.context.close()
        closers = [threading.Thread(target=c.sio.disconnect) for c in clients]
        for t in closers:
            t.start()
        for t in closers:
            t.join(15)
        server.stop()
        e2e_app.extensions["expertpool"].clock = utcnow
        app.extensions["expertpool"].sessions.remove()
        e2e_app.extensions["expertpool"].sessions.remove()
