"""Bid documents: upload checked by content and kept encrypted; read in the room only by its
members while the session is open, each copy stamped and each opening recorded without a name."""

from __future__ import annotations

import dataclasses
import hashlib
import io
from typing import Any

import pytest
from flask import Flask
from pypdf import PdfReader
from sqlalchemy import func, select

from expertpool.accounts import users
from expertpool.bids.models import BidDocument, DocumentReading
from expertpool.core.models import AuditEntry
from tests.conftest import login_client
from tests.integration.bids.conftest import World

pytestmark = pytest.mark.integration

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def _count(session: Any, model: Any) -> int:
    session.expire_all()
    return int(session.execute(select(func.count()).select_from(model)).scalar_one())


def _store(app: Flask) -> list[Any]:
    folder = app.extensions["expertpool"].files.folder
    return sorted(folder.iterdir()) if folder.exists() else []


def _upload_all(world: World, pdfs: dict[str, bytes]) -> None:
    web = world.web(world.staff)
    assert (
        world.upload(web, pdfs["a"], kind="technical", bidder=world.bidders[0]).status_code == 302
    )
    assert (
        world.upload(web, pdfs["b"], kind="commercial", bidder=world.bidders[1]).status_code == 302
    )
    resp = world.upload(web, pdfs["tender"], kind="tender", name="招标文件.pdf")
    assert resp.status_code == 302


def test_staff_upload_bids_and_the_tender_document_which_are_stored_encrypted(
    world: World, pdfs: dict[str, bytes], db_session: Any, app: Flask
) -> None:
    _upload_all(world, pdfs)
    rows = db_session.execute(select(BidDocument).order_by(BidDocument.id)).scalars().all()
    assert [(r.kind.value, r.pages, r.size) for r in rows] == [
        ("technical", 2, len(pdfs["a"])),
        ("commercial", 1, len(pdfs["b"])),
        ("tender", 3, len(pdfs["tender"])),
    ]
    assert [r.sha256 for r in rows] == [
        hashlib.sha256(pdfs[k]).hexdigest() for k in ("a", "b", "tender")
    ]
    page = world.web(world.staff).get(f"/projects/{world.project_id}/documents")
    html = page.get_data(as_text=True)
    assert html.count('data-testid="document-row"') == 3 and "招标文件.pdf" in html
    # On disk: one file per digest, sealed, with neither the PDF signature nor its structure.
    # (The store is the test session's: other tests' files may be there too.)
    stored = [p for p in _store(app) if p.name in {r.sha256 for r in rows}]
    assert sorted(p.name for p in stored) == sorted(r.sha256 for r in rows)
    for path in stored:
        raw = path.read_bytes()
        assert raw.startswith(b"EPF1")
        for clear in (b"%PDF", b"/Type", b"/Page", b"FlateDecode", b"endobj"):
            assert clear not in raw
    # A new file of the same kind replaces the bidder's file.
    web = world.web(world.staff)
    assert (
        world.upload(web, pdfs["b"], kind="technical", bidder=world.bidders[0]).status_code == 302
    )
    assert _count(db_session, BidDocument) == 3
    actions = db_session.execute(select(AuditEntry.action, AuditEntry.actor)).all()
    uploads = [a for a in actions if a[0] == "bid_document.upload"]
    assert len(uploads) == 4 and {a[1] for a in uploads} == {world.staff.username}
    # Staff never download a document: there is no route outside the room.
    rules = {r.rule for r in app.url_map.iter_rules() if r.endpoint.startswith("bids")}
    assert not any(r.endswith(".pdf") and not r.startswith("/rooms/") for r in rules)


@pytest.mark.parametrize(
    ("case", "limits", "expected"),
    [
        ("png", {}, "只接受 PDF"),
        ("text", {}, "只接受 PDF"),
        ("name", {}, "与文件名不符"),
        ("broken", {}, "无法读取"),
        ("empty", {}, "文件为空"),
        ("large", {"bid_max_bytes": 16 * 1024}, "超过 16 KB"),
        ("pages", {"bid_max_pages": 10}, "超过 10 页"),
    ],
)
def test_a_refused_file_saves_nothing_and_keeps_the_form_with_the_reason(
    world: World,
    pdfs: dict[str, bytes],
    db_session: Any,
    app: Flask,
    monkeypatch: pytest.MonkeyPatch,
    case: str,
    limits: dict[str, int],
    expected: str,
) -> None:
    st = app.extensions["expertpool"]
    if limits:
        monkeypatch.setattr(st, "config", dataclasses.replace(st.config, **limits))
    data, name = {
        "png": (PNG, "bid.pdf"),
        "text": (b"just some text, not a PDF at all" * 10, "bid.pdf"),
        "name": (pdfs["a"], "bid.docx"),
        "broken": (b"%PDF-1.7\n" + b"\x00garbage" * 200, "bid.pdf"),
        "empty": (b"", "bid.pdf"),
        "large": (pdfs["a"], "bid.pdf"),
        "pages": (pdfs["eleven"], "bid.pdf"),
    }[case]
    before = _store(app)
    resp = world.upload(world.web(world.staff), data, name=name)
    html = resp.get_data(as_text=True)
    assert resp.status_code == 422, html[:300]
    assert 'data-field-error="file"' in html and expected in html
    assert 'data-testid="document-form"' in html
    assert _count(db_session, BidDocument) == 0
    assert _store(app) == before
    assert not db_session.execute(
        select(AuditEntry).where(AuditEntry.action == "bid_document.upload")
    ).first()


def test_a_body_over_the_request_limit_keeps_the_form(
    world: World,
    pdfs: dict[str, bytes],
    db_session: Any,
    app: Flask,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", 2048)
    web = world.web(world.staff)
    resp = world.upload(web, pdfs["eleven"])
    assert resp.status_code == 303
    html = web.get(resp.headers["Location"]).get_data(as_text=True)
    assert 'data-field-error="file"' in html and 'data-testid="document-form"' in html
    assert _count(db_session, BidDocument) == 0


def test_the_limits_are_stated_on_the_form(world: World) -> None:
    html = (
        world.web(world.staff).get(f"/projects/{world.project_id}/documents").get_data(as_text=True)
    )
    assert "40 MB" in html and "2000" in html


def test_only_the_owning_centres_staff_upload(
    world: World, pdfs: dict[str, bytes], db_session: Any
) -> None:
    other = world.make_user(role="centre_staff", centre="440300")
    supervisor = world.make_user(role="supervisor")
    assert world.upload(world.web(other), pdfs["a"]).status_code == 403
    assert world.upload(world.web(supervisor), pdfs["a"]).status_code == 403
    assert world.web(other).get(f"/projects/{world.project_id}/documents").status_code == 403
    assert world.web(supervisor).get(f"/projects/{world.project_id}/documents").status_code == 200
    assert _count(db_session, BidDocument) == 0


def test_documents_are_fixed_once_the_lot_has_its_session(
    world: World, pdfs: dict[str, bytes], db_session: Any
) -> None:
    _upload_all(world, pdfs)
    world.open_session()
    resp = world.upload(world.web(world.staff), pdfs["b"], bidder=world.bidders[1])
    assert resp.status_code == 409
    assert 'data-field-error="file"' in resp.get_data(as_text=True)
    assert _count(db_session, BidDocument) == 3


def test_reading_is_refused_outside_an_open_session_and_to_non_members(
    world: World, pdfs: dict[str, bytes], app: Flask, make_user: Any
) -> None:
    _upload_all(world, pdfs)
    c = world.open_session()
    room = c.room_id
    listing = f"/rooms/{room}/documents"

    def status(name_or_user: Any) -> tuple[int, str]:
        user = c.users[name_or_user] if isinstance(name_or_user, str) else name_or_user
        resp = login_client(app.test_client(), user).get(
            listing, headers={"Accept": "application/json"}
        )
        body = resp.get_json() or {}
        return resp.status_code, (body.get("error") or {}).get("code", "")

    # Scheduled: not open yet, for members and staff alike.
    assert status("e1") == (403, "session_not_open")
    assert status("h_gz") == (403, "session_not_open")
    c.ok("h_gz", "phase", action="open")
    c.ok("h_gz", "phase", action="start_check_in")
    # Open, but the member has not checked in.
    assert status("e1") == (403, "not_checked_in")
    # Not in the session: another expert, another centre's staff, an administrator.
    assert status("outsider") == (403, "not_a_member")
    assert status(make_user(role="centre_staff", centre="440600")) == (403, "not_a_member")
    assert status(make_user(role="admin")) == (403, "not_a_member")
    doc_id = (
        login_client(app.test_client(), c.users["h_gz"])
        .get(listing)
        .get_json()["documents"][0]["id"]
    )
    pdf_url = f"/rooms/{room}/documents/{doc_id}.pdf"
    assert login_client(app.test_client(), c.users["outsider"]).get(pdf_url).status_code == 403
    assert login_client(app.test_client(), c.users["e1"]).get(pdf_url).status_code == 403
    c.check_in("e1")
    assert status("e1") == (200, "")
    assert status("e2") == (403, "not_checked_in")
    # Hosts and supervisors of the session read without checking in.
    assert status("h_sz") == (200, "")
    assert status("sup") == (200, "")
    # Paused: closed for reading until resumed.
    c.ok("h_gz", "pause", reason="网络故障")
    assert status("e1") == (403, "session_not_open")
    assert login_client(app.test_client(), c.users["e1"]).get(pdf_url).status_code == 403
    c.ok("h_gz", "resume")
    assert status("e1") == (200, "")


def test_each_copy_is_stamped_with_the_alias_and_each_opening_recorded_without_a_name(
    world: World, pdfs: dict[str, bytes], app: Flask, db_session: Any
) -> None:
    _upload_all(world, pdfs)
    c = world.open_session()
    c.ok("h_gz", "phase", action="open")
    c.ok("h_gz", "phase", action="start_check_in")
    c.check_in("e1")
    alias = c.last_snapshot("e1")["viewer"]["alias"]
    assert alias.startswith("专家")
    client = login_client(app.test_client(), c.users["e1"])
    docs = client.get(f"/rooms/{c.room_id}/documents").get_json()["documents"]
    assert {d["bidder"] for d in docs} == {"甲建设公司", "乙工程公司", ""}
    tech = next(d for d in docs if d["kind"] == "technical")
    resp = client.get(tech["url"])
    assert resp.status_code == 200 and resp.mimetype == "application/pdf"
    assert "no-store" in resp.headers["Cache-Control"]
    reader = PdfReader(io.BytesIO(resp.data))
    assert len(reader.pages) == 2
    for page in reader.pages:
        text = page.extract_text()
        assert "甲建设公司" in text  # the bid itself
        assert alias in text and c.room_id in text  # the stamp, in the page content
    assert hashlib.sha256(resp.data).hexdigest() != hashlib.sha256(pdfs["a"]).hexdigest()
    host = login_client(app.test_client(), c.users["h_gz"]).get(tech["url"])
    assert world.staff.username in PdfReader(io.BytesIO(host.data)).pages[0].extract_text()

    readings = db_session.execute(select(DocumentReading).order_by(DocumentReading.id)).scalars()
    assert [(r.reader, r.role) for r in readings] == [
        (alias, "expert"),
        (world.staff.username, "host"),
    ]
    entries = (
        db_session.execute(
            select(AuditEntry)
            .where(AuditEntry.action == "bid_document.read")
            .order_by(AuditEntry.seq)
        )
        .scalars()
        .all()
    )
    assert [e.actor for e in entries] == [f"{c.room_id}/{alias}", world.staff.username]
    # Sealing: nothing recorded of the opening names the expert or their account.
    e1 = c.users["e1"]
    everything = " ".join(
        f"{e.actor} {e.before} {e.after}"
        for e in db_session.execute(
            select(AuditEntry).where(AuditEntry.action.like("bid_document.%"))
        ).scalars()
    )
    assert e1.username not in everything and "真名e1" not in everything
    raw = db_session.execute(select(DocumentReading.reader, DocumentReading.role)).all()
    assert all(e1.username not in r[0] and str(e1.id) != r[0] for r in raw)


def test_a_trading_system_uploads_through_the_api(
    world: World, pdfs: dict[str, bytes], app: Flask, db_session: Any
) -> None:
    token, _ = users.issue_token(app.extensions["expertpool"].sessions(), world.staff, 1)
    api = app.test_client()
    api.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    url = f"/api/v1/projects/{world.project_id}/documents"
    resp = api.post(
        url,
        data={
            "kind": "price",
            "bidder": str(world.bidders[1]),
            "file": (io.BytesIO(pdfs["b"]), "p.pdf"),
        },
        content_type="multipart/form-data",
    )
    assert resp.status_code == 201, resp.get_json()
    body = resp.get_json()
    assert (body["kind"], body["pages"], body["sha256"]) == (
        "price",
        1,
        hashlib.sha256(pdfs["b"]).hexdigest(),
    )
    refused = api.post(
        url,
        data={"kind": "price", "bidder": str(world.bidders[1]), "file": (io.BytesIO(PNG), "p.pdf")},
        content_type="multipart/form-data",
    )
    assert refused.status_code == 422 and "file" in refused.get_json()["fields"]
    wrong = api.post(
        url,
        data={"kind": "price", "bidder": "999999", "file": (io.BytesIO(pdfs["b"]), "p.pdf")},
        content_type="multipart/form-data",
    )
    assert wrong.status_code == 422 and "bidder" in wrong.get_json()["fields"]
    listing = api.get(url).get_json()
    assert [d["kind"] for d in listing["items"]] == ["price"]
    assert _count(db_session, BidDocument) == 1
