"""Publicity: approved applications on a public page for five working days; objections (CSRF,
throttled, contact encrypted) hold the activation until a reviewer resolves them."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import text

from expertpool.core.state import limiter
from expertpool.experts import publicity, review
from expertpool.experts.models import (
    EntryState,
    ExpertStatus,
    ObjectionStatus,
    PublicityObjection,
)
from expertpool.experts.pool_rules import load_pool_rules
from expertpool.upkeep.daily import run_daily
from tests.conftest import csrf_token
from tests.integration.entry.conftest import GUANGDONG, NOW

pytestmark = pytest.mark.integration


@pytest.fixture()
def published(db_session: Any, applicant: Any, make_user: Any, submitted_on: Any) -> Any:
    """An application approved at both steps on 2026-12-03, now in publicity."""
    _, expert = applicant(specialties=["A010102"], home_region="440100", title="教授级高级工程师")
    submitted_on(expert, NOW)
    housing = make_user(role="reviewer", department="440100-housing")
    office = make_user(role="reviewer", department="440000-coordination")
    for reviewer in (housing, office):
        review.decide(
            db_session,
            reviewer=reviewer,
            expert_id=expert.id,
            decision="approve",
            entry_rules=GUANGDONG,
            today=NOW.date(),
        )
    return expert, office


def test_publicity_lasts_five_working_days_after_the_approval(
    db_session: Any, published: Any
) -> None:
    expert, _ = published
    row = db_session.get(EntryState, expert.id)
    # Approved Thursday 3 December: Fri 4, Mon 7 .. Thu 10 December.
    assert (row.publicity_from, row.publicity_until) == (date(2026, 12, 4), date(2026, 12, 10))
    assert expert.status is ExpertStatus.IN_PUBLICITY
    assert expert.term_ends_on is None


def test_the_public_page_shows_names_and_specialties_but_no_personal_numbers(
    client: FlaskClient, published: Any, cipher: Any, guangdong: Any
) -> None:
    from expertpool.experts import records

    expert, _ = published
    page = client.get("/publicity").get_data(as_text=True)
    assert expert.name in page and "广州某设计院有限公司" in page
    assert "教授级高级工程师" in page
    assert "公路" in page and "A010102" not in page  # by name, not code
    clear = records.clear_pii(expert, cipher)
    for secret in (clear["id_number"], clear["phone"], clear["id_number"][-4:] + "<"):
        assert secret not in page


def test_an_objection_needs_csrf_a_reason_and_a_contact(
    app: Flask, client: FlaskClient, db_session: Any, published: Any, guangdong: Any
) -> None:
    expert, _ = published
    path = f"/publicity/{expert.id}/objections"
    assert (
        client.post(path, data={"reason": "学历造假", "contact": "13800000000"}).status_code == 403
    )
    token = csrf_token(client, "/publicity")
    resp = client.post(path, data={"csrf_token": token, "reason": "", "contact": ""})
    assert resp.status_code == 422
    assert 'data-field-error="reason"' in resp.get_data(as_text=True)
    assert db_session.query(PublicityObjection).count() == 0
    resp = client.post(
        path, data={"csrf_token": token, "reason": "业绩材料与事实不符", "contact": "13912345678"}
    )
    assert resp.status_code == 302
    objection = db_session.query(PublicityObjection).one()
    raw = db_session.execute(
        text("SELECT contact_enc FROM publicity_objection WHERE id = :i"), {"i": objection.id}
    ).scalar_one()
    assert b"13912345678" not in bytes(raw)


def test_objections_are_throttled_per_address(
    app: Flask, client: FlaskClient, published: Any, guangdong: Any
) -> None:
    expert, _ = published
    limiter.reset()  # other tests' requests from the same address
    token = csrf_token(client, "/publicity")
    codes = [
        client.post(
            f"/publicity/{expert.id}/objections",
            data={"csrf_token": token, "reason": f"理由{i}理由理由", "contact": "x@example.cn"},
        ).status_code
        for i in range(6)
    ]
    assert codes[:5] == [302] * 5 and codes[5] == 429
    limiter.reset()


def test_an_open_objection_holds_the_activation_until_dismissed(
    db_session: Any, cipher: Any, published: Any
) -> None:
    expert, office = published
    objection = publicity.object_to(
        db_session,
        cipher=cipher,
        expert_id=expert.id,
        reason="论文抄袭，请核查",
        contact="13912345678",
        today=date(2026, 12, 7),
        ip=None,
    )
    rules = load_pool_rules()
    after = date(2026, 12, 11)
    assert publicity.activate_after_publicity(db_session, rules=rules, today=after, actor="t") == 0
    db_session.commit()
    assert expert.status is ExpertStatus.IN_PUBLICITY
    publicity.resolve(
        db_session,
        reviewer=office,
        objection_id=objection.id,
        uphold=False,
        resolution="经核查不属实",
        rules=GUANGDONG,
    )
    assert objection.status is ObjectionStatus.DISMISSED
    report = run_daily(
        db_session, config=_config(db_session), rules=rules, today=after, actor="maintenance"
    )
    assert report is not None and report.publicity_activated == 1
    assert expert.status is ExpertStatus.ACTIVE
    assert expert.term_ends_on is not None


def test_an_upheld_objection_rejects_the_application(
    db_session: Any, cipher: Any, published: Any, make_user: Any
) -> None:
    expert, office = published
    objection = publicity.object_to(
        db_session,
        cipher=cipher,
        expert_id=expert.id,
        reason="已在外省专家库被清退",
        contact="someone@example.cn",
        today=date(2026, 12, 4),
        ip=None,
    )
    housing = make_user(role="reviewer", department="440100-housing")
    with pytest.raises(Exception) as info:
        publicity.resolve(
            db_session,
            reviewer=housing,
            objection_id=objection.id,
            uphold=True,
            resolution="属实",
            rules=GUANGDONG,
        )
    assert getattr(info.value, "code", "") == "not_your_step"
    db_session.rollback()
    publicity.resolve(
        db_session,
        reviewer=office,
        objection_id=objection.id,
        uphold=True,
        resolution="属实",
        rules=GUANGDONG,
    )
    assert expert.status is ExpertStatus.REJECTED


def test_no_objection_after_the_period(db_session: Any, cipher: Any, published: Any) -> None:
    from expertpool.core.errors import Conflict

    expert, _ = published
    with pytest.raises(Conflict):
        publicity.object_to(
            db_session,
            cipher=cipher,
            expert_id=expert.id,
            reason="太晚的异议内容",
            contact="x",
            today=date(2026, 12, 11),
            ip=None,
        )


def _config(session: Any) -> Any:
    from flask import current_app

    return current_app.extensions["expertpool"].config
