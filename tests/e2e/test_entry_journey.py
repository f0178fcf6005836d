"""Entry to the pool in a browser: an organisation recommends a person, who consents through the
SMS link the console provider shows and applies; the application waits for its batch, passes the
industry department, is returned by the pool office, passes both steps again, is published; an
objection holds the activation until the pool office dismisses it."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import Any

import pytest
from flask import Flask

from expertpool.core.state import limiter
from expertpool.experts import identity
from expertpool.experts.models import Expert, ExpertStatus
from expertpool.experts.pool_rules import load_pool_rules
from expertpool.notifications import dispatcher
from expertpool.notifications.notifier import services_of
from expertpool.organisations import directory
from expertpool.upkeep.daily import run_daily
from tests.conftest import PASSWORD
from tests.e2e.conftest import browser_for

pytestmark = pytest.mark.e2e

PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
NOVEMBER = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)


@pytest.fixture()
def clock(app: Flask, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, datetime]]:
    """The Guangdong entry rules and a clock the test moves."""
    st = app.extensions["expertpool"]
    monkeypatch.setattr(st, "config", st.config.replace(entry_rules="guangdong"))
    moment = {"now": datetime(2026, 11, 25, 2, 0, tzinfo=UTC)}
    monkeypatch.setattr(st, "clock", lambda: moment["now"])
    limiter.reset()
    yield moment
    limiter.reset()


def _submitted_in_november(app: Flask) -> int:
    """Pin the submission day (the service stamps the real time)."""
    session = app.extensions["expertpool"].sessions()
    expert = session.query(Expert).filter(Expert.name == "李推荐").one()
    expert.submitted_at = NOVEMBER
    session.commit()
    app.extensions["expertpool"].sessions.remove()
    return expert.id


def _status(app: Flask, expert_id: int) -> ExpertStatus:
    st = app.extensions["expertpool"]
    status = st.sessions().get(Expert, expert_id).status
    st.sessions.remove()
    return status


def _decide(page: Any, url: str, action: str, opinion: str) -> None:
    page.goto(url)
    page.fill("[data-testid=decision-form] textarea[name=opinion]", opinion)
    page.click(f"[data-testid=decision-form] button[value={action}]")
    page.wait_for_url(url)


def test_a_recommended_applicant_goes_through_batch_chain_publicity_and_an_objection(
    app: Flask, live_server: Any, browser: Any, make_user: Any, clock: Any, tmp_path: Any
) -> None:
    st = app.extensions["expertpool"]
    session = st.sessions()
    org = directory.save_organisation(
        session,
        actor="test",
        credit_code=identity.make_credit_code("91440101MA59ABCD0"),
        name="广州某设计院有限公司",
        is_employer=True,
    )
    contact = make_user(role="org_contact", username="contact-e2e")
    directory.set_contact(session, actor="test", username=contact.username, organisation_id=org.id)
    housing = make_user(role="reviewer", department="440100-housing")
    office = make_user(role="reviewer", department="440000-coordination")
    admin = make_user(role="admin")
    st.sessions.remove()

    # 1. The organisation's contact recommends a person.
    org_page = browser_for(browser, live_server, app, contact)
    org_page.goto(live_server.url + "/org/recommendations")
    form = org_page.locator("[data-testid=recommend-form]")
    form.locator("input[name=name]").fill("李推荐")
    form.locator("input[name=id_number]").fill(
        identity.make_id_number("440104", date(1975, 5, 6), 17)
    )
    form.locator("input[name=phone]").fill("13912340017")
    form.locator("input[name=specialties]").fill("A010102")
    form.locator("button[type=submit]").click()
    org_page.wait_for_url("**/org/recommendations")
    assert "李推荐" in org_page.locator("[data-testid=recommendations]").inner_text()

    # 2. The SMS goes out through the outbox; the simulation page shows its link.
    services = services_of(app)
    dispatcher.dispatch_once(st.sessions, services.notifier, ctx=services.ctx)
    st.sessions.remove()
    console = browser_for(browser, live_server, app, admin)
    console.goto(live_server.url + "/admin/outbox/simulation")
    sms = console.locator("tr[data-kind=recommendation_sms]").inner_text()
    link = re.search(r"(/r/[A-Za-z0-9_-]+)", sms)
    assert link and "13912340017" not in sms

    # 3. The nominee consents, gets an account and completes the prefilled application.
    nominee = browser.new_context(locale="zh-CN").new_page()
    nominee.set_default_timeout(15_000)
    nominee.goto(live_server.url + link.group(1))
    assert "广州某设计院有限公司" in nominee.locator("[data-testid=recommended-by]").inner_text()
    nominee.fill("input[name=username]", "li-tuijian")
    nominee.fill("input[name=password]", PASSWORD)
    nominee.check("input[name=consent]")
    nominee.click("[data-testid=consent-form] button[type=submit]")
    nominee.wait_for_url("**/experts/me")
    assert nominee.locator("[data-testid=recommended]").is_visible()
    app_form = nominee.locator("[data-testid=application-form]")
    assert app_form.locator("input[name=name]").input_value() == "李推荐"
    app_form.locator("input[name=email]").fill("li@example.cn")
    app_form.locator("input[name=title]").fill("高级工程师")
    app_form.locator("select[name=title_level]").select_option("deputy_senior")
    app_form.locator("input[name=years_experience]").fill("20")
    app_form.locator("select[name=home_region]").select_option("440100")
    evidence = tmp_path / "证书.pdf"
    evidence.write_bytes(PDF)
    app_form.locator("input[name=evidence]").set_input_files(str(evidence))
    app_form.locator("button[value=submit]").click()
    nominee.wait_for_url("**/experts/me")
    expert_id = _submitted_in_november(app)
    assert _status(app, expert_id) is ExpertStatus.SUBMITTED

    # 4. A batch: in November the application waits for the December batch.
    nominee.reload()
    assert "2026-12-01" in nominee.locator("[data-testid=batch-wait]").inner_text()
    industry = browser_for(browser, live_server, app, housing)
    industry.goto(live_server.url + "/experts/review")
    assert industry.locator("[data-testid=queue-item]").count() == 0
    clock["now"] = datetime(2026, 12, 3, 2, 0, tzinfo=UTC)

    # 5. Two steps with a return: the industry department, then the pool office returns it.
    industry.goto(live_server.url + "/experts/review")
    assert industry.locator("[data-testid=queue-recommended]").is_visible()
    record = f"{live_server.url}/experts/{expert_id}"
    _decide(industry, record, "approve", "资格条件符合")
    pool_office = browser_for(browser, live_server, app, office)
    pool_office.goto(live_server.url + "/experts/review")
    assert pool_office.locator("[data-testid=queue-item]").count() == 1
    _decide(pool_office, record, "return", "请补充近三年业绩证明")
    nominee.reload()
    assert "请补充近三年业绩证明" in nominee.locator("[data-testid=opinion]").last.inner_text()
    nominee.locator("[data-testid=application-form] button[value=submit]").click()
    nominee.wait_for_url("**/experts/me")
    _submitted_in_november(app)
    _decide(industry, record, "approve", "已补充，符合")
    _decide(pool_office, record, "approve", "同意入库，予以公示")
    assert _status(app, expert_id) is ExpertStatus.IN_PUBLICITY

    # 6. The publicity page, and an objection by anyone.
    visitor = browser.new_context(locale="zh-CN").new_page()
    visitor.set_default_timeout(15_000)
    visitor.goto(live_server.url + "/publicity")
    card = visitor.locator(f"[data-testid=published][data-expert='{expert_id}']")
    assert "李推荐" in card.inner_text() and "公路" in card.inner_text()
    assert "13912340017" not in visitor.content()
    card.locator("summary").click()
    card.locator("textarea[name=reason]").fill("其业绩证明与实际不符，请核查")
    card.locator("input[name=contact]").fill("13800000001")
    card.locator("[data-testid=objection-form] button[type=submit]").click()
    visitor.wait_for_url("**/publicity")
    assert visitor.locator("p.flash.success").is_visible()

    # 7. The objection blocks the activation until the pool office dismisses it.
    rules, config = load_pool_rules(), st.config
    session = st.sessions()
    report = run_daily(session, config=config, rules=rules, today=date(2026, 12, 11))
    assert report is not None and report.publicity_activated == 0
    st.sessions.remove()
    assert _status(app, expert_id) is ExpertStatus.IN_PUBLICITY
    pool_office.goto(record)
    resolve = pool_office.locator("[data-testid=objection-resolve]")
    resolve.locator("input[name=resolution]").fill("经核查，业绩属实")
    resolve.locator("button[value=objection_dismiss]").click()
    pool_office.wait_for_url(record)
    assert pool_office.locator("[data-testid=objection][data-status=dismissed]").is_visible()
    session = st.sessions()
    report = run_daily(session, config=config, rules=rules, today=date(2026, 12, 12))
    assert report is not None and report.publicity_activated == 1
    st.sessions.remove()
    assert _status(app, expert_id) is ExpertStatus.ACTIVE
    for page in (org_page, console, nominee, industry, pool_office, visitor):
        page.context.close()
