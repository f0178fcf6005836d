"""The signed report: built with names at sign-off, PAdES-signed by the centre's key, archived
sealed with its hash in the draw ledger, read only by those the visibility table allows."""

from __future__ import annotations

import base64
import hashlib
import io
import json
from typing import Any

import pytest
from flask import Flask
from pypdf import PdfReader
from sqlalchemy import select

from expertpool.accounts import users
from expertpool.core.models import AuditEntry
from expertpool.draws.models import DrawLedgerEntry, LedgerKind
from expertpool.projects.models import Project, ProjectStatus
from expertpool.reports.archive import open_pdf
from expertpool.reports.models import EvaluationReport
from expertpool.reports.signing import verify_pdf
from tests.conftest import login_client
from tests.integration.reports.conftest import SignedOff
from tests.integration.room.conftest import MEMBERS

pytestmark = pytest.mark.integration


def _archived(app: Flask, room_id: str) -> tuple[EvaluationReport, bytes]:
    st = app.extensions["expertpool"]
    row = (
        st.sessions()
        .execute(select(EvaluationReport).where(EvaluationReport.room_id == room_id))
        .scalar_one()
    )
    return row, open_pdf(st.keys, room_id, row.pdf_sealed)


def _text(pdf: bytes) -> str:
    return "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


def test_sign_off_builds_the_named_report_with_the_failed_bid_and_its_reason(
    signed_off: SignedOff, app: Flask
) -> None:
    row, pdf = _archived(app, signed_off.room_id)
    text = _text(pdf)
    for m in MEMBERS:
        assert f"真名{m}" in text, m
    for fragment in (
        "评标报告",
        "某医院设备采购",
        "招标人代表",
        "评标专家（组长）",
        "无效投标及原因",
        "丙公司",
        "营业执照",
        "推荐中标候选人",
        "价格分计算口径有异议",
        "（北京时间）",
    ):
        assert fragment in text, fragment
    # The body the members signed is attached, and its digest is the one they signed.
    attached = PdfReader(io.BytesIO(pdf)).attachments["report-body.json"][0]
    report = json.loads(attached)
    body_bytes = json.dumps(
        report["body"], sort_keys=True, separators=(",", ":"), ensure_ascii=False
    ).encode()
    assert hashlib.sha256(body_bytes).hexdigest() == report["body_digest"]
    assert report["body_digest"] in text
    assert not any(f"真名{m}" in attached.decode() for m in MEMBERS)
    assert row.final_report_digest == report["report_digest"]


def test_the_signature_validates_and_fails_after_one_byte_is_changed(
    signed_off: SignedOff, app: Flask
) -> None:
    _row, pdf = _archived(app, signed_off.room_id)
    trusted = app.extensions["expertpool"].keys.report_certificates()
    assert verify_pdf(pdf, trusted).is_ok
    # One byte of the first signed range (a word of the document's information dictionary).
    at = pdf.index(b"/Producer") + 2
    changed = pdf[:at] + bytes([pdf[at] ^ 0x01]) + pdf[at + 1 :]
    result = verify_pdf(changed, trusted)
    assert not result.is_ok
    assert not result.intact
    # An unrelated certificate does not vouch for it either.
    other = app.extensions["expertpool"].keys.report_certificates()[:0]
    assert not verify_pdf(pdf, other).is_ok


def test_the_archive_is_sealed_and_its_hash_is_in_the_ledger(
    signed_off: SignedOff, app: Flask
) -> None:
    row, pdf = _archived(app, signed_off.room_id)
    assert hashlib.sha256(pdf).hexdigest() == row.pdf_sha256
    assert b"%PDF" not in row.pdf_sealed  # no clear names in the database before the close
    session = app.extensions["expertpool"].sessions()
    entry = session.execute(
        select(DrawLedgerEntry).where(DrawLedgerEntry.kind == LedgerKind.REPORT)
    ).scalar_one()
    assert entry.seq == row.ledger_seq
    assert json.loads(entry.payload)["pdf_sha256"] == row.pdf_sha256
    issued = session.execute(
        select(AuditEntry).where(AuditEntry.action == "report.issued")
    ).scalar_one()
    assert json.loads(issued.after)["pdf_sha256"] == row.pdf_sha256


def _token(app: Flask, user: Any, *, client: str | None, scopes: list[str] | None) -> str:
    st = app.extensions["expertpool"]
    clear, _row = users.issue_token(st.sessions(), user, 1, client=client, scopes=scopes)
    st.sessions().commit()
    return clear


def _api(app: Flask, room_id: str, token: str) -> Any:
    return app.test_client().get(
        f"/api/v1/reports/{room_id}", headers={"Authorization": f"Bearer {token}"}
    )


def test_the_tenderer_and_the_trading_system_receive_it_and_readers_outside_are_refused(
    signed_off: SignedOff, app: Flask, make_user: Any
) -> None:
    room_id = signed_off.room_id
    users_ = signed_off.committee.users
    page = f"/reports/{room_id}.pdf"
    row, pdf = _archived(app, room_id)

    contact_client = login_client(app.test_client(), signed_off.contact)
    project_page = contact_client.get(f"/org/projects/{signed_off.project_id}")
    assert f'href="{page}"' in project_page.get_data(as_text=True)
    contact = contact_client.get(page)
    assert contact.status_code == 200 and contact.data == pdf
    supervisor = login_client(app.test_client(), users_["sup"]).get(page)
    assert supervisor.status_code == 200
    # The room's report page offers it to the supervisor, not to a member before the close.
    alias_page = f"/rooms/{room_id}/report"
    sup_html = login_client(app.test_client(), users_["sup"]).get(alias_page).get_data(True)
    assert f'href="{page}"' in sup_html
    member_html = login_client(app.test_client(), users_["e1"]).get(alias_page).get_data(True)
    assert "signed-report" not in member_html

    trading = make_user(role="centre_staff", centre="440100")
    answer = _api(app, room_id, _token(app, trading, client="交易系统", scopes=["reports:read"]))
    assert answer.status_code == 200, answer.get_json()
    data = answer.get_json()
    assert base64.b64decode(data["pdf_base64"]) == pdf
    assert data["pdf_sha256"] == row.pdf_sha256 and data["ledger_seq"] == row.ledger_seq

    # Before the close: members, hosts, administrators, other centres' systems, other
    # departments' supervisors, and a token without the scope are all refused.
    admin = make_user(role="admin")
    stranger = make_user(role="supervisor", department=None)
    for who in ("e1", "r1", "h_gz", "h_sz", "outsider"):
        assert login_client(app.test_client(), users_[who]).get(page).status_code == 404, who
    for user in (admin, stranger):
        assert login_client(app.test_client(), user).get(page).status_code == 404
    other_centre = make_user(role="centre_staff", centre="440300")
    refused = _api(app, room_id, _token(app, other_centre, client="深圳", scopes=["reports:read"]))
    assert refused.status_code == 404
    unscoped = _api(app, room_id, _token(app, trading, client="交易系统", scopes=["sessions:read"]))
    assert unscoped.status_code == 403

    # After the close the committee and the hosts read it too; strangers still do not.
    session = app.extensions["expertpool"].sessions()
    session.get(Project, signed_off.project_id).status = ProjectStatus.AWARDED
    session.commit()
    for who in ("e1", "h_sz"):
        assert login_client(app.test_client(), users_[who]).get(page).status_code == 200, who
    assert login_client(app.test_client(), admin).get(page).status_code == 200
    assert login_client(app.test_client(), stranger).get(page).status_code == 404

    reads = (
        session.execute(select(AuditEntry).where(AuditEntry.action == "report.read"))
        .scalars()
        .all()
    )
    assert len(reads) == 6  # contact, supervisor, trading system, e1, h_sz, admin
    assert all(json.loads(r.after)["pdf_sha256"] == row.pdf_sha256 for r in reads)


def test_the_keys_page_publishes_the_report_certificate(signed_off: SignedOff, app: Flask) -> None:
    row, _pdf = _archived(app, signed_off.room_id)
    html = app.test_client().get("/keys").get_data(as_text=True)
    assert row.certificate_sha256 in html
    pem = app.test_client().get("/keys/report-signing.pem")
    assert pem.status_code == 200 and b"BEGIN CERTIFICATE" in pem.data
    published = app.test_client().get("/api/v1/keys").get_json()["report_certificates"]
    assert published[0].encode() in pem.data
