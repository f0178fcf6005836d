"""Statistics in a real browser: each role that may read them sees its charts drawn (a non-blank
screenshot), with the table view and the Excel link beside each."""

from __future__ import annotations

import io
from typing import Any

import pytest
from PIL import Image

from expertpool.draws.models import InviteeStatus
from tests.conftest import PASSWORD
from tests.integration.statistics.test_figures import History, _at

pytestmark = [pytest.mark.e2e, pytest.mark.integration]


def _coloured_share(png: bytes) -> float:
    """The share of a screenshot's pixels in colour (bars), not grey (background, axes, text):
    a chart with axes and legend but no bars stays under 1 %."""
    image = Image.open(io.BytesIO(png)).convert("HSV")
    pixels = image.getcolors(maxcolors=1 << 24) or []
    coloured = sum(n for n, (_h, sat, _v) in pixels if sat > 80)
    return coloured / (image.width * image.height)


@pytest.mark.parametrize("role", ["admin", "supervisor", "centre_staff"])
def test_each_reader_sees_its_charts_drawn(
    page: Any, live_server: Any, app: Any, make_user: Any, role: str
) -> None:
    operator = make_user(role="centre_staff", centre="440100")
    history = History(app.extensions["expertpool"].sessions(), operator.id)
    for month, count in ((3, 7), (4, 9), (5, 12)):
        for i in range(count):
            history.draw(
                "440100",
                _at(month),
                tokens=(f"e{month}{i}a", f"e{month}{i}b", f"e{month}{i}c"),
                outcomes=(InviteeStatus.ACCEPTED, InviteeStatus.ACCEPTED, InviteeStatus.DECLINED),
            )
    history.session.commit()
    user = make_user(role=role)
    base = live_server.url
    page.goto(base + "/login")
    page.get_by_label("用户名").fill(user.username)
    page.get_by_label("密码").fill(PASSWORD)
    page.locator("form button[type=submit].primary").click()
    page.wait_for_url(base + "/dashboard")
    page.locator('[data-menu="statistics"]').click()
    page.wait_for_url(base + "/statistics/")
    chart = page.locator("#figure-draws_by_month .chart[data-rendered]")
    chart.wait_for()
    page.wait_for_timeout(800)  # the entry animation
    shot = chart.screenshot(path=f"/tmp/statistics-{role}.png")
    assert _coloured_share(shot) > 0.05, "the chart draws no bars"
    assert page.locator("#figure-draws_by_month table.figure-table").count() == 1
    link = page.locator("#figure-draws_by_month a[href$='draws_by_month.xlsx']")
    assert link.count() == 1
    # the answers of those invitations, all within 1 to 4 hours: the response-time chart
    chart = page.locator("#figure-response_times .chart[data-rendered]")
    chart.scroll_into_view_if_needed()
    page.wait_for_timeout(800)
    shot = chart.screenshot(path=f"/tmp/statistics-response-{role}.png")
    assert _coloured_share(shot) > 0.05, "the response-time chart draws no bars"
    assert page.locator("#figure-fees_by_month .chart[data-rendered]").count() == 1
    if role == "supervisor":
        page.goto(base + "/statistics/signals")
        for section in ("expert-tenderer", "expert-agency", "expert-expert", "favour"):
            assert page.locator(f"section#{section}").count() == 1
        assert page.locator("section#terminals").count() == 1
