"""The fee pages: public schedules, statements by who may read them, the expert's own page."""

from __future__ import annotations

import io
import json
from typing import Any

from flask.testing import FlaskClient
from openpyxl import load_workbook

from expertpool.demo.projects import demo_credit_code
from expertpool.fees.schedules import bundled
from expertpool.organisations import directory
from tests.conftest import csrf_token
from tests.integration.fees.conftest import ClosedSession


def _as(example: ClosedSession, login: Any, who: str) -> FlaskClient:
    return login(example.app.test_client(), example.people[who])


def test_the_schedules_are_public_with_their_sources_and_example_marks(client: FlaskClient) -> None:
    html = client.get("/fees/schedules").get_data(as_text=True)
    assert 'data-schedule="440000"' in html and 'data-schedule="440300"' in html
    assert html.count('data-testid="example"') == 2
    assert "807号" in html and "2018年第61号" in html


def test_an_administrator_changes_a_schedule_from_a_date_with_field_errors_first(
    example: ClosedSession, make_user: Any, login: Any
) -> None:
    admin = login(example.app.test_client(), make_user(role="admin"))
    token = csrf_token(admin, "/fees/schedules/change")
    start = admin.get("/fees/schedules/change?kind=schedule&scope=440300").get_data(as_text=True)
    assert "深圳市公共资源交易中心" in start  # a change starts from the scope's latest version
    bad = admin.post(
        "/fees/schedules/change",
        data={
            "csrf_token": token,
            "kind": "schedule",
            "scope": "449999",
            "document": "{}",
            "effective_on": "2020-01-01",
            "note": "",
        },
    )
    assert bad.status_code == 422
    html = bad.get_data(as_text=True)
    for field in ("scope", "document", "effective_on", "note"):
        assert f'data-field-error="{field}"' in html
    doc = dict(bundled()["schedules"][0], name="广州市公共资源交易中心", status="quoted")
    ok = admin.post(
        "/fees/schedules/change",
        data={
            "csrf_token": token,
            "kind": "schedule",
            "scope": "440100",
            "document": json.dumps(doc, ensure_ascii=False),
            "effective_on": "2099-01-01",
            "note": "广州市新标准",
        },
    )
    assert ok.status_code == 302
    later = example.app.test_client().get("/fees/schedules?on=2099-01-02").get_data(as_text=True)
    assert 'data-schedule="440100"' in later


def test_statements_appear_after_the_close_to_those_who_may_read_them(
    example: ClosedSession, make_user: Any, login: Any
) -> None:
    staff = _as(example, login, "h_gz")
    token = csrf_token(staff, "/fees/statements")
    staff.post("/fees/statements/make", data={"csrf_token": token})
    before = staff.get("/fees/statements").get_data(as_text=True)
    assert "专家甲" not in before and "/fees/statements/1" not in before  # not closed yet
    example.close()
    staff.post("/fees/statements/make", data={"csrf_token": token})
    html = staff.get("/fees/statements/1").get_data(as_text=True)
    assert "专家甲" in html and "广州市某人民医院" in html
    other = login(example.app.test_client(), make_user(role="centre_staff", centre="440600"))
    assert other.get("/fees/statements/1").status_code == 403
    assert "专家甲" not in other.get("/fees/statements").get_data(as_text=True)
    sup = _as(example, login, "sup")
    assert "专家甲" in sup.get("/fees/statements/1").get_data(as_text=True)
    session = example.app.extensions["expertpool"].sessions()
    for n, kind in ((71, "is_tenderer"), (73, "is_agency")):
        org = directory.save_organisation(
            session, actor="test", credit_code=demo_credit_code(n), name=f"单位{n}", **{kind: True}
        )
        contact = make_user(role="org_contact")
        directory.set_contact(
            session, actor="test", username=contact.username, organisation_id=org.id
        )
        page = login(example.app.test_client(), contact)
        if n == 71:  # the project's tenderer: its fee statements
            assert "专家甲" in page.get("/fees/statements/1").get_data(as_text=True)
        else:
            assert page.get("/fees/statements/1").status_code == 403
            assert "专家甲" not in page.get("/fees/statements").get_data(as_text=True)


def test_an_adjustment_through_the_pages_needs_a_reason_then_a_supervisor(
    example: ClosedSession, login: Any
) -> None:
    example.close()
    staff = _as(example, login, "h_gz")
    token = csrf_token(staff, "/fees/statements")
    staff.post("/fees/statements/make", data={"csrf_token": token})
    refused = staff.post(
        "/fees/statements/1/adjust",
        data={"csrf_token": token, "line_id": "2", "amount": "abc", "reason": ""},
    )
    assert refused.status_code == 422
    assert 'data-field-error="amount"' in refused.get_data(as_text=True)
    asked = staff.post(
        "/fees/statements/1/adjust",
        data={"csrf_token": token, "line_id": "2", "amount": "100", "reason": "评标延时补足"},
    )
    assert asked.status_code == 302
    sup = _as(example, login, "sup")
    listing = sup.get("/fees/statements").get_data(as_text=True)
    assert 'data-testid="pending"' in listing
    sup.post(
        "/fees/adjustments/1",
        data={"csrf_token": csrf_token(sup, "/fees/statements"), "decision": "approve"},
    )
    html = staff.get("/fees/statements/1").get_data(as_text=True)
    assert "1,000.00" in html


def test_the_expert_sees_only_their_own_fees_and_a_yearly_summary(
    example: ClosedSession, login: Any
) -> None:
    example.close()
    staff = _as(example, login, "h_gz")
    staff.post("/fees/statements/make", data={"csrf_token": csrf_token(staff, "/fees/statements")})
    expert = _as(example, login, "E")
    html = expert.get("/fees/mine").get_data(as_text=True)
    assert "1,072.00" in html and "68.00" in html and "专家甲" not in html
    assert 'data-year="2026"' in html
    token = csrf_token(expert, "/fees/mine")
    bad = expert.post("/fees/mine", data={"csrf_token": token, "bank": "", "account": "1"})
    assert bad.status_code == 422
    expert.post(
        "/fees/mine",
        data={"csrf_token": token, "bank": "招商银行深圳分行", "account": "6214 8300 0000 1234"},
    )
    html = expert.get("/fees/mine").get_data(as_text=True)
    assert "************1234" in html and "621483000000" not in html
    year = expert.get("/fees/mine/2026").get_data(as_text=True)
    assert "1,140.00" in year and 'data-testid="year-total"' in year


def test_a_batch_through_the_pages_exported_and_marked_from_the_returned_file(
    example: ClosedSession, make_user: Any, login: Any
) -> None:
    example.close()
    expert = _as(example, login, "A")
    expert.post(
        "/fees/mine",
        data={
            "csrf_token": csrf_token(expert, "/fees/mine"),
            "bank": "中国银行广州分行",
            "account": "6013820000012345678",
        },
    )
    staff = _as(example, login, "h_gz")
    token = csrf_token(staff, "/fees/statements")
    staff.post("/fees/statements/make", data={"csrf_token": token})
    bad = staff.post(
        "/fees/batches",
        data={"csrf_token": token, "payer_name": "广州市某人民医院", "period_from": "x"},
    )
    assert bad.status_code == 422 and 'data-field-error="period_from"' in bad.get_data(True)
    made = staff.post(
        "/fees/batches",
        data={
            "csrf_token": token,
            "payer_name": "广州市某人民医院",
            "period_from": "2026-11-01",
            "period_to": "2026-11-30",
        },
    )
    assert made.status_code == 302
    url = made.headers["Location"]
    xlsx = staff.get(url + "/export.xlsx")
    assert xlsx.mimetype.endswith("spreadsheetml.sheet")
    assert xlsx.headers["Cache-Control"] == "no-store"
    rows = list(load_workbook(io.BytesIO(xlsx.data)).worksheets[0].iter_rows(values_only=True))
    assert len(rows) == 2 and rows[1][1] == "专家甲" and rows[1][3] == "6013820000012345678"
    assert staff.get(url + "/export.csv").mimetype == "text/csv"
    returned = f"reference,status,bank_reference,message\r\n{rows[1][0]},paid,BOC-77,\r\n"
    page = staff.post(
        url,
        data={"csrf_token": token, "file": (io.BytesIO(returned.encode()), "back.csv")},
        content_type="multipart/form-data",
    )
    assert 'data-testid="import-result"' in page.get_data(as_text=True)
    assert "BOC-77" in staff.get(url).get_data(as_text=True)
    other = login(example.app.test_client(), make_user(role="centre_staff", centre="440600"))
    assert other.get(url).status_code == 404
    assert other.get(url + "/export.csv").status_code == 404
