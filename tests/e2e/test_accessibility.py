"""Accessibility: axe-core (vendored from npm) on every menu page of every role, in Chinese and in
English on a desktop (the expert's also on a phone); no serious or critical violation is allowed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import browser_for

pytestmark = [pytest.mark.e2e, pytest.mark.integration]

AXE = (Path(__file__).parent / "vendor" / "axe-core" / "axe.min.js").read_text(encoding="utf-8")
ROLES = (
    "expert",
    "reviewer",
    "centre_staff",
    "supervisor",
    "admin",
    "security_admin",
    "audit_admin",
    "org_contact",
)
RUN = """async () => {
  const result = await axe.run(document, {resultTypes: ['violations']});
  return result.violations
    .filter(v => v.impact === 'serious' || v.impact === 'critical')
    .map(v => `${v.id} (${v.impact}): ` +
      v.nodes.slice(0, 3).map(n => n.target.join(' ')).join(' | '));
}"""


def axe_problems(page: Any) -> list[str]:
    """The serious and critical axe violations of the page as it is now."""
    page.add_script_tag(content=AXE)
    return list(page.evaluate(RUN))


def _menu_paths(page: Any) -> list[str]:
    links = page.locator("nav.menu a[data-menu]")
    return [str(links.nth(i).get_attribute("href")) for i in range(links.count())]


@pytest.mark.parametrize("role", ROLES)
def test_every_menu_page_has_no_serious_accessibility_problem(
    browser: Any, live_server: Any, app: Any, make_user: Any, role: str
) -> None:
    user = make_user(role=role)
    page = browser_for(browser, live_server, app, user)
    problems: list[str] = []
    try:
        page.goto(live_server.url + "/dashboard")
        paths = ["/login", *_menu_paths(page)]
        for lang in ("zh", "en"):
            if lang == "en":
                page.locator('[data-testid="lang-switch"]').click()
                page.wait_for_load_state()
            for path in paths:
                page.goto(live_server.url + path)
                problems += [f"{lang} {path}: {p}" for p in axe_problems(page)]
        page.set_viewport_size({"width": 375, "height": 740})
        for path in paths if role == "expert" else ():  # the expert's pages are used on phones
            page.goto(live_server.url + path)
            problems += [f"phone {path}: {p}" for p in axe_problems(page)]
    finally:
        page.context.close()
    assert not problems, "\n".join(problems)
