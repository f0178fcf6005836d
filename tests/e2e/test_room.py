"""A remote evaluation in the browser: experts in Guangzhou and Shenzhen and the main host in
three browser contexts, the other members and the Shenzhen host as python-socketio clients,
from check-in with the console code to the signed report, whose PDF text is checked."""

from __future__ import annotations

import io
import re
import threading
from typing import Any

import pytest
from flask import Flask
from pypdf import PdfReader

from expertpool.reports.signing import verify_pdf
from tests.conftest import PASSWORD, LiveServer
from tests.e2e.conftest import browser_for, enter_bidders, settle
from tests.integration.room.conftest import BIDS, Committee, build_committee
from tests.integration.room.live import LiveMember

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
SUBJECTIVE_EXTRA = {"service": "15"}
PAGE_ERRORS: list[str] = []


def test_a_five_member_committee_at_two_venues_evaluates_and_signs(
    app: Flask, make_user: Any, browser: Any, e2e_app: Flask
) -> None:
    c: Committee = build_committee(app, make_user)
    server = LiveServer(e2e_app)
    c.server_app = e2e_app
    pages: dict[str, Any] = {}
    try:
        for name in ("e1", "e2", "e3", "r1", "h_sz"):
            c.clients[name] = LiveMember(server, app, c.users[name])
        for name in ("h_gz", "e1", "e4"):
            pages[name] = browser_for(browser, server, app, c.users[name], PAGE_ERRORS)
            pages[name].goto(f"{server.url}/rooms/{c.room_id}")
        host, gz, sz = pages["h_gz"], pages["e1"], pages["e4"]
        for p in pages.values():
            p.wait_for_selector("[data-testid=conn][data-state=connected]")
        assert host.locator("[data-testid=my-role]").inner_text() == "主持人"

        # The main host adds the purchaser's qualification check to the method in the editor
        # (a new row, no JSON), then enters the bidders as rows: the third failed that check.
        settle(host)
        host.goto(f"{server.url}/rooms/{c.room_id}/method")
        host.click("[data-testid=add-row]")
        row = host.locator("[data-testid=item-row]").last
        row.locator("select[name$=-category]").select_option("qualification")
        row.locator("select[name$=-kind]").select_option("pass_fail")
        row.locator("input[name$=-name]").fill("资质")
        row.locator("select[name$=-by_committee]").select_option("purchaser")
        with host.expect_navigation():
            host.click("[data-testid=save-method]")
        enter_bidders(
            host,
            server.url,
            c.room_id,
            [(b["bidder_code"], b["bidder_name"], b["price"]) for b in BIDS]
            + [("B003", "丙公司", "900000")],  # an invalid bid, and why, for the report
            {(2, "i4"): "fail"},
        )
        for action in ("open", "start_check_in"):
            host.click(f"[data-phase={action}]")
            host.wait_for_function(
                "document.querySelector('[data-testid=phase]').dataset.phase === "
                f"'{action.replace('start_', '')}'"
                if action != "open"
                else "document.querySelector('[data-testid=phase]').dataset.phase === 'opened'"
            )

        # Expert 1 in Guangzhou checks in with the console code; the main host confirms the person.
        gz.click("[data-testid=request-code]")
        gz.wait_for_function("document.querySelector('[data-testid=code]').placeholder !== ''")
        gz.fill("[data-testid=code]", c.console_code())
        gz.click("[data-testid=enter-code]")
        gz.wait_for_selector("[data-testid=checkin-wait]")
        row = host.locator("tr[data-alias=专家1]")
        row.locator("[data-act=confirm]").click()
        host.wait_for_selector("tr[data-alias=专家1] td[data-col=checked-in]:has-text('是')")

        # Expert 4 in Shenzhen checks in; the Shenzhen host (a python client) confirms.
        sz.click("[data-testid=request-code]")
        sz.wait_for_function("document.querySelector('[data-testid=code]').placeholder !== ''")
        sz.fill("[data-testid=code]", c.console_code())
        sz.click("[data-testid=enter-code]")
        sz.wait_for_selector("[data-testid=checkin-wait]")
        c.ok("h_sz", "confirm_identity", member=member_pid(c, "专家4"), seat="SZ-01")
        for name in ("e2", "e3", "r1"):
            c.ok(name, "request_code")
            c.ok(name, "enter_code", code=c.console_code())
        for alias in ("专家2", "专家3"):
            host.locator(f"tr[data-alias={alias}] [data-act=confirm]").click()
            host.wait_for_selector(f"tr[data-alias={alias}] td[data-col=checked-in]:has-text('是')")
        c.ok("h_sz", "confirm_identity", member=member_pid(c, "专家5"), seat="SZ-02")
        # The host's phase buttons carry the seq the host has seen: wait for the latest change.
        host.wait_for_selector("tr[data-alias=专家5] td[data-col=checked-in]:has-text('是')")

        # Election: the browsers vote by alias, the others by python client.
        host.click("[data-phase=start_election]")
        for p in (gz, sz):
            p.wait_for_selector("[data-testid=vote]")
            p.select_option("[data-testid=candidate]", "专家1")
            p.click("[data-testid=vote]")
        for name in ("e2", "e3", "r1"):
            c.ok(name, "vote", candidate="专家1")
        for p in (gz, host):
            p.wait_for_selector("[data-testid=leader]:has-text('专家1')")

        # Independent scoring: Guangzhou scores high, Shenzhen low, the rest in between.
        host.click("[data-phase=start_scoring]")
        for p, tech in ((gz, "50"), (sz, "10")):
            p.wait_for_selector("[data-testid=sheet] input")
            for b in ("B001", "B002"):
                p.fill(f"input[data-bidder={b}][data-item=tech]", tech)
                p.fill(f"input[data-bidder={b}][data-item=service]", "15")
            p.click("[data-testid=submit-sheet]")
            p.wait_for_selector("[data-testid=sheet-done]")
        assert "50" not in sz.locator("#sec-flags").inner_text()
        for name in ("e2", "e3", "r1"):
            c.ok(
                name,
                "submit_sheet",
                scores={b: {"tech": "30", **SUBJECTIVE_EXTRA} for b in ("B001", "B002")},
            )

        # Deviation review: each flagged member sees their flag and explains it.
        for p, why in ((gz, "方案明显优于其他投标人"), (sz, "技术方案存在重大缺陷")):
            p.wait_for_selector("[data-testid=flags] [data-act=explain]")
            while p.locator("[data-testid=flags] [data-act=explain]").count():
                before = p.locator("[data-testid=flags] [data-act=explain]").count()
                p.locator("[data-testid=flags] [data-explain]").first.fill(why)
                p.locator("[data-testid=flags] [data-act=explain]").first.click()
                p.wait_for_function(
                    "document.querySelectorAll('[data-testid=flags] [data-act=explain]').length "
                    f"< {before}"
                )
        assert "偏离" in host.locator("#sec-flags").inner_text()

        # The leader finalises and starts signing; everyone signs after re-entering the password.
        gz.click("[data-testid=finalise]")
        gz.click("[data-testid=start-signing]")
        for p in (gz, sz):
            p.wait_for_selector("[data-testid=sign]")
            p.fill("[data-testid=sign-password]", PASSWORD)
            p.click("[data-testid=sign]")
            p.wait_for_selector("[data-testid=signatures] li")
        digest = c.ok("e2", "report")["report_digest"]
        for name in ("e2", "e3", "r1"):
            c.ok(name, "sign", verdict="agree", report_digest=digest, password=PASSWORD)
        host.wait_for_function(
            "document.querySelectorAll('[data-testid=signatures] li').length === 5"
        )
        host.click("[data-phase=archive]")
        host.wait_for_function(
            "document.querySelector('[data-testid=phase]').dataset.phase === 'archived'"
        )

        pdf = host.request.get(f"{server.url}/rooms/{c.room_id}/report.pdf")
        assert pdf.ok
        text = "".join(pg.extract_text() for pg in PdfReader(io.BytesIO(pdf.body())).pages)
        for fragment in ("评标报告", "专家1", "专家4", "技术方案存在重大缺陷", "推荐中标候选人"):
            assert fragment in text, fragment
        assert not re.search("真名", text)

        # At sign-off the named report was built and signed by the centre: the session's
        # supervisor downloads it; it names the members and the invalid bid with its reason.
        sup = browser_for(browser, server, app, c.users["sup"])
        pages["sup"] = sup
        signed = sup.request.get(f"{server.url}/reports/{c.room_id}.pdf")
        assert signed.ok
        named = "".join(pg.extract_text() for pg in PdfReader(io.BytesIO(signed.body())).pages)
        for fragment in ("真名e1", "真名e4", "真名r1", "无效投标及原因", "丙公司", "资质"):
            assert fragment in named, fragment
        trusted = e2e_app.extensions["expertpool"].keys.report_certificates()
        assert verify_pdf(signed.body(), trusted).is_ok
        assert not host.request.get(f"{server.url}/reports/{c.room_id}.pdf").ok
        assert PAGE_ERRORS == []
    finally:
        for p in pages.values():
            p.context.close()
        closers = [threading.Thread(target=cl.sio.disconnect) for cl in c.clients.values()]
        for t in closers:
            t.start()
        for t in closers:
            t.join(15)
        server.stop()
        e2e_app.extensions["expertpool"].sessions.remove()


def member_pid(c: Committee, alias: str) -> str:
    """A member's participant id, looked up by alias in the Shenzhen host's view."""
    snap = c.ok("h_sz", "snapshot")["snapshot"]
    return str(next(m["participant_id"] for m in snap["members"] if m["alias"] == alias))
