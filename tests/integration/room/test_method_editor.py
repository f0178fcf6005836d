"""The scoring-method editor, centre templates, bidders as rows, the review stages and the
reasons for low scores, through the pages and the room's events."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from expertpool.rooms import sessions as rooms
from expertpool.rooms.models import ScoringTemplate
from tests.conftest import login_client
from tests.integration.room.conftest import MEMBERS, Committee, build_committee

pytestmark = pytest.mark.integration


def item(n: int, category: str, kind: str, name: str, **extra: str) -> dict[str, str]:
    """One editor row as the form posts it."""
    row = {"category": category, "kind": kind, "name": name, **extra}
    return {f"items-{n}-{k}": v for k, v in row.items()}


def goods_method(
    price_max: str = "30", tech_max: str = "50", service_max: str = "20"
) -> dict[str, str]:
    """A goods method: committee qualification, one compliance item, price and two scored items."""
    data: dict[str, str] = {}
    for part in (
        item(0, "qualification", "pass_fail", "营业执照", criteria="有效营业执照", item_id="q1"),
        item(1, "compliance", "pass_fail", "交货期", criteria="满足交货期要求", item_id="c1"),
        item(
            2,
            "price",
            "objective",
            "价格分",
            formula="lowest_price",
            maximum=price_max,
            step="0.01",
            item_id="price",
        ),
        item(
            3,
            "technical",
            "subjective",
            "技术方案",
            maximum=tech_max,
            step="0.5",
            criteria="方案完整",
            item_id="tech",
        ),
        item(
            4,
            "commercial",
            "subjective",
            "售后服务",
            maximum=service_max,
            step="0.5",
            item_id="service",
        ),
    ):
        data.update(part)
    return data


def staff(app: Flask, make_user: Any, centre: str = "440100") -> Any:
    return login_client(app.test_client(), make_user(role="centre_staff", centre=centre))


@pytest.fixture()
def no_csrf(app: Flask) -> Any:
    app.config["WTF_CSRF_ENABLED"] = False
    yield
    app.config["WTF_CSRF_ENABLED"] = True


def count_templates(app: Flask) -> int:
    session = app.extensions["expertpool"].sessions()
    n: int = session.execute(select(func.count()).select_from(ScoringTemplate)).scalar_one()
    session.rollback()
    return n


def test_the_template_editor_refuses_totals_and_price_weights_out_of_range_and_saves_nothing(
    app: Flask, make_user: Any, no_csrf: Any
) -> None:
    client = staff(app, make_user)
    base = {
        "template_name": "货物类通用",
        "regime": "government_procurement",
        "kind": "goods",
        "action": "save",
    }
    # 30 + 50 + 30 = 110 points
    resp = client.post("/rooms/methods/new", data={**base, **goods_method(service_max="30")})
    assert resp.status_code == 422
    assert b'data-field-error="total"' in resp.data
    # 100 points, but the price weighs 20 % (government goods: 30 % to 60 %)
    resp = client.post(
        "/rooms/methods/new", data={**base, **goods_method(price_max="20", service_max="30")}
    )
    assert resp.status_code == 422
    assert b'data-field-error="price_weight"' in resp.data
    assert b'data-field-error="total"' not in resp.data
    # a row with a fail-kind mismatch and a bad number is refused field by field
    bad = {**goods_method(), "items-3-maximum": "abc", "items-2-kind": "pass_fail"}
    resp = client.post("/rooms/methods/new", data={**base, **bad})
    assert resp.status_code == 422
    assert b'data-field-error="items-3-maximum"' in resp.data
    assert b'data-field-error="items-2-kind"' in resp.data
    assert count_templates(app) == 0
    # services weigh the price 10 % to 30 %: 30 is allowed, and the template is saved
    resp = client.post(
        "/rooms/methods/new",
        data={**base, "kind": "services", **goods_method()},
        follow_redirects=True,
    )
    assert resp.status_code == 200, resp.data
    assert count_templates(app) == 1
    assert "技术方案".encode() in resp.data and "方案完整".encode() in resp.data


def test_templates_belong_to_their_centre(app: Flask, make_user: Any, no_csrf: Any) -> None:
    gz = staff(app, make_user)
    sz = staff(app, make_user, "440300")
    data = {
        "template_name": "广州模板",
        "regime": "government_procurement",
        "kind": "goods",
        "action": "save",
        **goods_method(),
    }
    resp = gz.post("/rooms/methods/new", data=data)
    assert resp.status_code == 302
    tid = int(resp.headers["Location"].rsplit("/", 1)[1])
    assert "广州模板".encode() in gz.get("/rooms/methods").data
    assert "广州模板".encode() not in sz.get("/rooms/methods").data
    assert sz.get(f"/rooms/methods/{tid}").status_code == 404
    # the same name twice in one centre is refused
    resp = gz.post("/rooms/methods/new", data=data)
    assert resp.status_code == 422 and b'data-field-error="template_name"' in resp.data
    assert sz.post("/rooms/methods/new", data=data).status_code == 302  # another centre may


def session_client(app: Flask, c: Committee, name: str = "h_gz") -> Any:
    return login_client(app.test_client(), c.users[name])


def test_the_main_host_builds_the_session_method_from_a_template_and_enters_bidders_as_rows(
    app: Flask, make_user: Any, no_csrf: Any
) -> None:
    c = build_committee(app, make_user)
    host = session_client(app, c)
    saved = host.post(
        f"/rooms/{c.room_id}/method",
        data={"action": "save_template", "template_name": "带符合性审查", **goods_method()},
    )
    assert saved.status_code == 200 and count_templates(app) == 1
    tid = app.extensions["expertpool"].sessions().execute(select(ScoringTemplate.id)).scalar_one()
    loaded = host.post(
        f"/rooms/{c.room_id}/method", data={"action": "load_template", "template_id": str(tid)}
    )
    assert loaded.status_code == 200 and b'data-testid="loaded"' in loaded.data
    resp = host.post(f"/rooms/{c.room_id}/method", data={"action": "save", **goods_method()})
    assert resp.status_code == 302
    form = c.last_snapshot("e1")["form"]
    assert [i["category"] for i in form["items"]][:2] == ["qualification", "compliance"]
    assert form["items"][3]["criteria"] == "方案完整"
    # bidders as rows; a refused row saves nothing
    rows = {
        "bidders-0-code": "B001",
        "bidders-0-name": "甲公司",
        "bidders-0-price": "1000000",
        "bidders-1-code": "B002",
        "bidders-1-name": "乙公司",
        "bidders-1-price": "-5",
        "action": "save",
    }
    resp = host.post(f"/rooms/{c.room_id}/bidders", data=rows)
    assert resp.status_code == 422 and b'data-field-error="bidders-1-price"' in resp.data
    assert c.last_snapshot("h_gz")["bids"] == []
    resp = host.post(
        f"/rooms/{c.room_id}/bidders",
        data={**rows, "bidders-1-price": "950000", "bidders-1-small": "1"},
    )
    assert resp.status_code == 302
    bids = c.last_snapshot("h_gz")["bids"]
    assert [(b["bidder_code"], b["is_small_enterprise"]) for b in bids] == [
        ("B001", False),
        ("B002", True),
    ]
    # other people may not edit: a member of the committee (not staff), the secondary host
    assert session_client(app, c, "h_sz").get(f"/rooms/{c.room_id}/method").status_code == 403
    assert session_client(app, c, "e1").get(f"/rooms/{c.room_id}/method").status_code == 403


def run_to_review(c: Committee, app: Flask) -> None:
    host = session_client(app, c)
    assert (
        host.post(
            f"/rooms/{c.room_id}/method", data={"action": "save", **goods_method()}
        ).status_code
        == 302
    )
    rows = {
        "bidders-0-code": "B001",
        "bidders-0-name": "甲公司",
        "bidders-0-price": "1000000",
        "bidders-1-code": "B002",
        "bidders-1-name": "乙公司",
        "bidders-1-price": "950000",
        "action": "save",
    }
    assert host.post(f"/rooms/{c.room_id}/bidders", data=rows).status_code == 302
    for action in ("open", "start_check_in"):
        c.ok("h_gz", "phase", action=action)
    for m in MEMBERS:
        c.check_in(m)
    c.ok("h_gz", "phase", action="start_election")
    for m in MEMBERS:
        c.ok(m, "vote", candidate="专家1")


def all_pass(stage_items: list[str]) -> dict[str, Any]:
    return {b: {i: {"passed": True} for i in stage_items} for b in ("B001", "B002")}


def test_a_compliance_fail_by_the_majority_excludes_the_bidder_from_scoring(
    app: Flask, make_user: Any, no_csrf: Any
) -> None:
    c = build_committee(app, make_user)
    run_to_review(c, app)
    refused = c.emit("h_gz", "phase", action="start_scoring")
    assert not refused["ok"] and refused["error"]["code"] == "not_allowed"
    c.ok("h_gz", "phase", action="start_review")
    assert c.emit("h_gz", "submit_review", marks=all_pass(["q1"]))["error"]["code"] == "not_allowed"
    no_reason = all_pass(["q1"])
    no_reason["B001"]["q1"] = {"passed": False, "reason": ""}
    ack = c.emit("e1", "submit_review", marks=no_reason)
    assert ack["error"]["fields"] == {"B001.q1": "a fail needs a reason"}
    for m in MEMBERS:
        c.ok(m, "submit_review", marks=all_pass(["q1"]))
    stages = c.last_snapshot("e1")["stages"]
    assert [s["stage"] for s in stages] == ["qualification", "compliance"]
    for n, m in enumerate(MEMBERS):
        marks = all_pass(["c1"])
        if n < 3:
            marks["B002"]["c1"] = {"passed": False, "reason": f"交货期超出要求{n}"}
        c.ok(m, "submit_review", marks=marks)
    outcome = c.last_snapshot("e2")["stages"][-1]
    assert outcome["passed"] == ["B001"]
    assert outcome["failed"]["B002"][0]["reasons"][0] == "交货期超出要求0"
    c.ok("h_gz", "phase", action="start_scoring")
    assert c.last_snapshot("e1")["scoring_bidders"] == ["B001"]
    for m in MEMBERS:
        c.ok(m, "submit_sheet", scores={"B001": {"tech": "40", "service": "15"}})
    results = c.last_snapshot("sup")["results"]
    assert [b["bidder_code"] for b in results["bidders"]] == ["B001"]
    assert results["excluded"][0]["bidder_code"] == "B002"
    assert results["excluded"][0]["stage"] == "compliance"


def test_a_low_score_needs_a_reason_shown_to_the_committee_after_submission(
    app: Flask, make_user: Any
) -> None:
    st = app.extensions["expertpool"]
    settings = rooms.room_settings(st.config)
    settings = replace(
        settings, scoring=replace(settings.scoring, low_score_reason_pct=Decimal(60))
    )
    c = build_committee(app, make_user, settings=settings)
    c.to_scoring()
    low = {b: {"tech": "20", "service": "15"} for b in ("B001", "B002")}
    ack = c.emit("e1", "submit_sheet", scores=low)
    assert not ack["ok"]
    assert ack["error"]["fields"] == {
        "B001.tech.reason": "required",
        "B002.tech.reason": "required",
    }
    reasons = {"B001": {"tech": "方案缺少实施计划"}, "B002": {"tech": "技术参数偏离"}}
    c.ok("e1", "submit_sheet", scores=low, reasons=reasons)
    assert c.last_snapshot("e2")["low_score_reasons"] is None
    for m in MEMBERS[1:]:
        c.ok(
            m, "submit_sheet", scores={b: {"tech": "40", "service": "15"} for b in ("B001", "B002")}
        )
    shown = c.last_snapshot("e2")["low_score_reasons"]
    assert {r["reason"] for r in shown} == {"方案缺少实施计划", "技术参数偏离"}
    assert {r["member"] for r in shown} == {"专家1"}
