"""Bid documents in the browser: staff upload two bidders' PDFs on the project's documents page;
an expert checked in to the open session reads one in the room's PDF.js viewer (the page drawn,
next page, zoom, search), on a desktop and on a phone."""

from __future__ import annotations

import io
from typing import Any

import pytest
from flask import Flask
from pypdf import PdfReader

from tests.conftest import LiveServer, login_client
from tests.e2e.conftest import browser_for
from tests.integration.bids import conftest as bid_fixtures
from tests.integration.bids.conftest import World

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

# The integration fixtures of the bids folder: a project with two bidders, made-up PDFs.
world = bid_fixtures.world
pdfs = bid_fixtures.pdfs
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}


def _phone(browser: Any, server: LiveServer, app: Flask, user: Any, errors: list[str]) -> Any:
    cookie = login_client(app.test_client(), user).get_cookie("session")
    assert cookie is not None
    context = browser.new_context(locale="zh-CN", **PHONE)
    context.set_default_timeout(15_000)
    context.add_cookies([{"name": "session", "value": cookie.value, "url": server.url}])
    page = context.new_page()
    page.on("pageerror", lambda e: errors.append(str(e)))
    return page


def _read_in_the_viewer(page: Any) -> None:
    page.wait_for_selector("[data-testid=document-open]")
    assert page.locator("[data-testid=document-open]").count() == 2
    page.locator("[data-testid=document-open]", has_text="甲建设公司").click()
    page.wait_for_selector("[data-testid=viewer-canvas][data-rendered-page='1']")
    assert page.locator("[data-testid=viewer-pages]").inner_text() == "2"
    box = page.locator("[data-testid=viewer-canvas]").bounding_box()
    assert box is not None and box["width"] > 150 and box["height"] > 150
    # The page is really drawn: some canvas pixels are not white.
    assert page.evaluate(
        """() => { const c = document.querySelector('[data-testid=viewer-canvas]');
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        for (let i = 0; i < d.length; i += 4) if (d[i] < 200) return true; return false; }"""
    )
    page.click("[data-testid=viewer-next]")
    page.wait_for_selector("[data-testid=viewer-canvas][data-rendered-page='2']")
    page.click("[data-testid=viewer-prev]")
    page.wait_for_selector("[data-testid=viewer-canvas][data-rendered-page='1']")
    before = page.locator("[data-testid=viewer-zoom]").inner_text()
    page.click("[data-testid=viewer-zoom-in]")
    page.wait_for_function(
        f"document.querySelector('[data-testid=viewer-zoom]').textContent !== '{before}'"
    )
    # Search: the stamp is in the text layer of every page, the bid's words too.
    page.fill("[data-testid=viewer-search]", "质量保证措施")
    page.click("[data-testid=viewer-find]")
    page.wait_for_selector(".textLayer span.hit")


def test_staff_upload_and_an_expert_reads_a_bid_in_the_room(
    world: World, app: Flask, e2e_app: Flask, browser: Any, pdfs: dict[str, bytes]
) -> None:
    errors: list[str] = []
    server = LiveServer(e2e_app)
    pages: list[Any] = []
    try:
        # Staff upload two bidders' PDFs through the form.
        staff = browser_for(browser, server, app, world.staff, errors)
        pages.append(staff)
        staff.goto(f"{server.url}/projects/{world.project_id}")
        staff.click("[data-testid=documents-link]")
        assert "最大 40 MB" in staff.locator("[data-testid=document-limits]").inner_text()
        for kind, bidder, key in (("technical", 0, "a"), ("commercial", 1, "b")):
            staff.select_option("[data-testid=document-kind]", kind)
            staff.select_option("[data-testid=document-bidder]", str(world.bidders[bidder]))
            staff.set_input_files(
                "[data-testid=document-file]",
                {"name": f"{key}.pdf", "mimeType": "application/pdf", "buffer": pdfs[key]},
            )
            staff.click("[data-testid=document-upload]")
            staff.wait_for_selector(".flash.success")
        assert staff.locator("[data-testid=document-row]").count() == 2

        # The lot's session opens; expert 1 checks in.
        c = world.open_session()
        c.ok("h_gz", "phase", action="open")
        c.ok("h_gz", "phase", action="start_check_in")
        c.check_in("e1")
        alias = c.last_snapshot("e1")["viewer"]["alias"]

        desktop = browser_for(browser, server, app, c.users["e1"], errors)
        pages.append(desktop)
        desktop.goto(f"{server.url}/rooms/{c.room_id}")
        _read_in_the_viewer(desktop)
        # Beside the sheet on a wide screen.
        sheet = desktop.locator("#room-app").bounding_box()
        panel = desktop.locator("#sec-documents").bounding_box()
        assert sheet is not None and panel is not None and panel["x"] > sheet["x"] + 200

        phone = _phone(browser, server, app, c.users["e1"], errors)
        pages.append(phone)
        phone.goto(f"{server.url}/rooms/{c.room_id}")
        _read_in_the_viewer(phone)
        canvas = phone.locator("[data-testid=viewer-canvas-wrap]").bounding_box()
        assert canvas is not None and canvas["width"] <= 390

        # A member not checked in is told why, and gets no document.
        other = browser_for(browser, server, app, c.users["e2"], errors)
        pages.append(other)
        other.goto(f"{server.url}/rooms/{c.room_id}")
        other.wait_for_selector("[data-testid=documents-error]:not([hidden])")
        assert "签到" in other.locator("[data-testid=documents-error]").inner_text()
        assert other.locator("[data-testid=document-open]").count() == 0

        # What the expert's browser got is the stamped copy.
        served = login_client(e2e_app.test_client(), c.users["e1"])
        listing = served.get(f"/rooms/{c.room_id}/documents").get_json()["documents"]
        copy = served.get(listing[0]["url"]).data
        assert alias in PdfReader(io.BytesIO(copy)).pages[0].extract_text()
        assert errors == []
    finally:
        for p in pages:
            p.context.close()
        server.stop()
