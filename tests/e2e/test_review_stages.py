"""In the browser: the main host builds the session's scoring method from the centre's template in
the editor and enters the bidders as rows; the committee runs the compliance review (符合性审查)
with a fail and its reason, the bidder failed by the majority leaves scoring, the others score."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from flask import Flask

from expertpool.demo.methods import TEMPLATE_NAME, demo_form
from expertpool.rooms import methods
from tests.conftest import LiveServer
from tests.e2e.conftest import browser_for, enter_bidders
from tests.integration.room.conftest import MEMBERS, Committee, build_committee
from tests.integration.room.live import LiveMember

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def test_a_method_from_a_template_a_compliance_fail_and_scoring_in_the_browser(
    app: Flask, make_user: Any, browser: Any, e2e_app: Flask
) -> None:
    c: Committee = build_committee(app, make_user)
    session = app.extensions["expertpool"].sessions()
    methods.save_template(
        session,
        centre_id=c.users["h_gz"].centre_id,
        name=TEMPLATE_NAME,
        regime="government_procurement",
        kind="services",
        form=demo_form(),
        actor="test",
    )
    server = LiveServer(e2e_app)
    c.server_app = e2e_app
    errors: list[str] = []
    pages: list[Any] = []
    try:
        host = browser_for(browser, server, app, c.users["h_gz"], errors)
        expert = browser_for(browser, server, app, c.users["e1"], errors)
        pages += [host, expert]

        # The host builds the method from the template: nothing is typed but the choice.
        host.goto(f"{server.url}/rooms/{c.room_id}/method")
        host.select_option(
            "[data-testid=from-template] select[name=template_id]", label=None, index=0
        )
        with host.expect_navigation():
            host.click("[data-testid=from-template] button")
        host.wait_for_selector("[data-testid=loaded]")
        assert host.locator("[data-testid=item-row]").count() == 6
        assert "符合性审查" in host.locator("[data-testid=stages]").inner_text()
        assert host.locator("[data-testid=total]").inner_text() == "100"
        with host.expect_navigation():
            host.click("[data-testid=save-method]")
        enter_bidders(
            host,
            server.url,
            c.room_id,
            [("B001", "甲公司", "1000000"), ("B002", "乙公司", "950000")],
        )

        for name in [*MEMBERS, "h_gz", "h_sz"]:
            c.clients[name] = LiveMember(server, app, c.users[name])
        for action in ("open", "start_check_in"):
            c.ok("h_gz", "phase", action=action)
        for m in MEMBERS:
            c.check_in(m)
        c.ok("h_gz", "phase", action="start_election")
        for m in MEMBERS:
            c.ok(m, "vote", candidate="专家1")

        host.reload()
        host.wait_for_selector("[data-phase=start_review]")
        host.click("[data-phase=start_review]")

        # Expert 1 marks the compliance review in the browser: B002 fails a starred clause.
        expert.goto(f"{server.url}/rooms/{c.room_id}")
        expert.wait_for_selector("[data-testid=review-sheet]")
        expert.select_option("select[data-mark-bidder=B002][data-mark-item=c_response]", "fail")
        expert.click("[data-testid=submit-review]")  # a fail without its reason is refused
        expert.wait_for_selector("[data-testid=error]:not([hidden])")
        assert expert.locator("[data-testid=review-done]").count() == 0
        expert.fill("input[data-reason-bidder=B002][data-reason-item=c_response]", "未响应★号条款")
        expert.click("[data-testid=submit-review]")
        expert.wait_for_selector("[data-testid=review-done]")
        for n, m in enumerate(MEMBERS[1:]):
            marks: dict[str, Any] = {
                b: {"c_validity": {"passed": True}, "c_response": {"passed": True}}
                for b in ("B001", "B002")
            }
            if n < 2:
                marks["B002"]["c_response"] = {"passed": False, "reason": "重大偏离"}
            c.ok(m, "submit_review", marks=marks)
        expert.wait_for_selector("[data-testid=stage-outcome] tr[data-outcome=B002]")
        outcome = expert.locator("tr[data-outcome=B002]").inner_text()
        assert "不通过" in outcome and "未响应★号条款" in outcome and "3/5" in outcome

        # Scoring: only B001 remains.
        host.click("[data-phase=start_scoring]")
        expert.wait_for_selector("[data-testid=sheet] input[data-bidder]")
        assert expert.locator("input[data-bidder=B002]").count() == 0
        assert "方案完整" in expert.locator("[data-testid=criteria]").inner_text()
        expert.fill("input[data-bidder=B001][data-item=tech]", "42")
        expert.fill("input[data-bidder=B001][data-item=service]", "16")
        expert.click("[data-testid=submit-sheet]")
        expert.wait_for_selector("[data-testid=sheet-done]")
        for m in MEMBERS[1:]:
            c.ok(m, "submit_sheet", scores={"B001": {"tech": "40", "service": "15"}})
        expert.wait_for_selector("[data-testid=excluded]")
        assert "B002" in expert.locator("[data-testid=excluded]").inner_text()
        assert errors == []
    finally:
        for p in pages:
            p.context.close()
        closers = [threading.Thread(target=cl.sio.disconnect) for cl in c.clients.values()]
        for t in closers:
            t.start()
        for t in closers:
            t.join(15)
        server.stop()
        e2e_app.extensions["expertpool"].sessions.remove()
