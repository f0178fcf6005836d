"""Each role in a real browser: Chinese login, its own menu, the English switch, the specialty tree,
a phone.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import PASSWORD

pytestmark = [pytest.mark.e2e, pytest.mark.integration]

MENUS = {
    "expert": [
        "home",
        "rooms",
        "specialties",
        "my_application",
        "my_leave",
        "my_relatives",
        "my_training",
        "my_fees",
        "my_record",
    ],
    "reviewer": [
        "home",
        "rooms",
        "specialties",
        "training_courses",
        "review_queue",
        "expert_search",
        "departments",
        "record_reviews",
    ],
    "centre_staff": [
        "home",
        "rooms",
        "specialties",
        "centres",
        "expert_search",
        "projects",
        "terminal",
        "draws",
        "statistics",
        "api",
        "assessments",
        "fees",
    ],
    "supervisor": [
        "home",
        "rooms",
        "specialties",
        "centres",
        "expert_search",
        "projects",
        "draws",
        "statistics",
        "departments",
        "assessments",
        "record_reviews",
        "fees",
    ],
    "admin": [
        "home",
        "rooms",
        "specialties",
        "centres",
        "training_courses",
        "expert_search",
        "projects",
        "statistics",
        "terminals",
        "venues",
        "users",
        "outbox",
        "departments",
        "organisations",
        "api",
    ],
    "security_admin": ["home", "rooms", "specialties", "departments", "roles", "keys"],
    "audit_admin": ["home", "rooms", "specialties", "audit"],
    "org_contact": [
        "home",
        "rooms",
        "specialties",
        "org_projects",
        "recommendations",
        "assessments",
        "fees",
    ],
}
ZH = {
    "home": "首页",
    "rooms": "评标会议",
    "specialties": "专业分类",
    "centres": "交易中心",
    "users": "用户",
    "audit": "审计日志",
    "my_application": "我的申请",
    "my_leave": "我的请假",
    "review_queue": "待审申请",
    "expert_search": "专家查询",
    "projects": "项目",
    "terminal": "抽取终端",
    "terminals": "终端管理",
    "venues": "评标场地",
    "outbox": "发件箱",
    "draws": "抽取记录",
    "statistics": "统计分析",
    "departments": "监督部门",
    "organisations": "单位",
    "roles": "角色权限",
    "keys": "密钥管理",
    "org_projects": "本单位项目",
    "recommendations": "推荐专家",
    "api": "接口参考",
    "my_fees": "我的劳务报酬",
    "my_relatives": "我的近亲属",
    "my_training": "我的继续教育",
    "training_courses": "继续教育",
    "fees": "劳务报酬",
    "my_record": "我的考评",
    "assessments": "专家评价",
    "record_reviews": "异议与处理",
}
EN = {
    "home": "Home",
    "rooms": "Evaluation sessions",
    "specialties": "Specialties",
    "centres": "Trading centres",
    "users": "Users",
    "audit": "Audit trail",
    "my_application": "My application",
    "my_leave": "My leave",
    "review_queue": "Review queue",
    "expert_search": "Expert search",
    "projects": "Projects",
    "terminal": "Draw terminal",
    "terminals": "Terminals",
    "venues": "Venues",
    "outbox": "Outbox",
    "draws": "Draws",
    "statistics": "Statistics",
    "departments": "Departments",
    "organisations": "Organisations",
    "roles": "Roles",
    "keys": "Key management",
    "org_projects": "Our projects",
    "recommendations": "Recommend experts",
    "api": "API reference",
    "my_fees": "My fees",
    "my_relatives": "My relatives",
    "my_training": "My training",
    "training_courses": "Continuing education",
    "fees": "Fees",
    "my_record": "My record",
    "assessments": "Assessments",
    "record_reviews": "Objections and sanctions",
}


def _log_in(page: Any, base: str, username: str) -> None:
    page.goto(base + "/login")
    assert page.locator("html").get_attribute("lang") == "zh-CN"
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(PASSWORD)
    page.locator("form button[type=submit].primary").click()
    page.wait_for_url(base + "/dashboard")


def _menu(page: Any) -> list[tuple[str, str]]:
    items = page.locator("nav.menu [data-menu]")
    return [
        (items.nth(i).get_attribute("data-menu"), items.nth(i).inner_text().strip())
        for i in range(items.count())
    ]


@pytest.mark.parametrize("role", list(MENUS))
def test_each_role_sees_its_own_menu_in_chinese_then_english_and_uses_the_tree(
    page: Any, live_server: Any, make_user: Any, role: str
) -> None:
    user = make_user(role=role)
    base = live_server.url
    _log_in(page, base, user.username)
    assert _menu(page) == [(key, ZH[key]) for key in MENUS[role]]

    page.locator('[data-menu="specialties"]').click()
    page.locator('[data-open="A"]').click()
    page.locator('[data-open="A01"]').click()
    page.locator('[data-open="A0101"]').click()
    page.wait_for_url("**/specialties?parent=A0101")
    rows = page.locator('[data-testid="specialty-list"] tbody tr')
    assert rows.filter(has_text="A010102").filter(has_text="公路").count() == 1
    assert "国民经济和社会发展规划" in page.locator("nav.crumbs").inner_text()

    page.locator('[data-testid="specialty-search"]').fill("公路")
    page.locator('[data-testid="specialty-search"]').press("Enter")
    page.wait_for_url("**/specialties?q=*")
    assert page.locator('[data-testid="specialty-list"] code', has_text="A010102").count() == 1

    page.locator('[data-testid="lang-switch"]').click()
    page.wait_for_load_state()
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.locator("h1").inner_text() == "Specialty classification"
    assert (
        page.locator('[data-testid="specialty-list"] code', has_text="A010102").count() == 1
    )  # search kept
    assert _menu(page) == [(key, EN[key]) for key in MENUS[role]]
    page.locator('[data-menu="home"]').click()
    assert page.locator('[data-testid="logout"]').inner_text() == "Log out"
    assert page.locator("html").get_attribute("lang") == "en"


def test_on_a_phone_the_menu_folds_behind_the_toggle(
    browser: Any, live_server: Any, make_user: Any
) -> None:
    context = browser.new_context(
        locale="zh-CN", viewport={"width": 375, "height": 740}, is_mobile=True, has_touch=True
    )
    context.set_default_timeout(10_000)
    try:
        page = context.new_page()
        user = make_user(role="admin")
        _log_in(page, live_server.url, user.username)
        menu = page.locator("nav.menu")
        assert not menu.is_visible()
        toggle = page.locator("label.nav-toggle-label")
        assert toggle.is_visible()
        toggle.click()
        assert menu.is_visible()
        assert page.locator('[data-menu="users"]').is_visible()
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 375, f"the page scrolls sideways ({width}px)"
        page.locator('[data-menu="specialties"]').click()
        page.wait_for_url("**/specialties")
        assert page.evaluate("document.documentElement.scrollWidth") <= 375
    finally:
        context.close()
