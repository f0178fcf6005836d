"""Browser journey: apply in Chinese with evidence, returned, resubmitted, approved, found by
staff.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.conftest import PASSWORD
from tests.integration.experts.conftest import EMPLOYER, PDF, valid_input

pytestmark = pytest.mark.e2e


def _login(page: Any, base: str, username: str, password: str = PASSWORD) -> None:
    page.context.clear_cookies()
    page.goto(f"{base}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button.primary")
    page.wait_for_url(lambda url: "/login" not in url)


def test_an_expert_applies_is_returned_resubmits_is_approved_and_is_found(
    page: Any, live_server: Any, make_user: Any, tmp_path: Path
) -> None:
    base = live_server.url
    make_user(role="reviewer", username="shenhe")
    make_user(role="centre_staff", username="zhongxin", centre="440100")
    data = valid_input(77)
    evidence = tmp_path / "职称证书.pdf"
    evidence.write_bytes(PDF)

    page.goto(f"{base}/experts/register")
    assert "申请成为评标专家" in page.content()
    page.fill("input[name=username]", "wang.jun")
    page.fill("input[name=display_name]", "王军")
    page.fill("input[name=password]", "long-password-9")
    page.click("button.primary")
    page.wait_for_url("**/experts/me")
    page.fill("input[name=name]", "王军")
    page.fill("input[name=id_number]", data["id_number"])
    page.fill("input[name=phone]", data["phone"])
    page.fill("input[name=email]", data["email"])
    page.fill("input[name=title]", "高级工程师")
    page.select_option("select[name=title_level]", "deputy_senior")
    page.fill("input[name=years_experience]", "9")
    page.fill("input[name=specialties]", "A010102")
    page.select_option("select[name=home_region]", "440100")
    page.fill("input[name=employer_code]", EMPLOYER)
    page.fill("input[name=employer_name]", "广州某设计院有限公司")
    page.set_input_files("input[name=evidence]", str(evidence))
    page.check("input[name=consent]")
    page.click("button[value=submit]")
    page.wait_for_selector("[data-testid=my-status]")
    assert page.inner_text("[data-testid=my-status]") == "已提交"

    _login(page, base, "shenhe")
    page.goto(f"{base}/experts/review")
    page.click("[data-testid=queue-item]")
    assert "*" in page.inner_text("[data-testid=rec-id]")
    page.fill("textarea[name=opinion]", "请补充从业年限证明")
    page.click("button[value=return]")
    page.wait_for_selector("[data-testid=rec-status]")
    assert page.inner_text("[data-testid=rec-status]") == "退回修改"

    _login(page, base, "wang.jun", "long-password-9")
    page.goto(f"{base}/experts/me")
    assert "请补充从业年限证明" in page.inner_text("[data-testid=opinion]")
    page.fill("input[name=years_experience]", "15")
    page.click("button[value=submit]")
    page.wait_for_selector("[data-testid=my-status]")
    assert page.inner_text("[data-testid=my-status]") == "已提交"

    _login(page, base, "shenhe")
    page.goto(f"{base}/experts/review")
    page.click("[data-testid=queue-item]")
    page.click("button[value=approve]")
    page.wait_for_selector("[data-testid=rec-status]")
    assert page.inner_text("[data-testid=rec-status]") == "启用"

    _login(page, base, "zhongxin")
    page.goto(f"{base}/experts/search")
    page.fill("input[name=specialty]", "A0101")
    page.select_option("select[name=city]", "440100")
    page.click("[data-testid=search-form] button")
    page.wait_for_selector("[data-testid=result-name]")
    assert page.inner_text("[data-testid=result-name]") == "王军"
