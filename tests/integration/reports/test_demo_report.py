"""The demo's past session, run to its sign-off by the demo, has a signed report that validates."""

from __future__ import annotations

import io

import pytest
from flask import Flask
from pypdf import PdfReader
from sqlalchemy import select

from expertpool.accounts.models import Centre
from expertpool.demo import methods as demo_methods
from expertpool.demo import runner as demo
from expertpool.demo.context import DemoContext
from expertpool.demo.draws import CODE
from expertpool.demo.methods import TEMPLATE_NAME
from expertpool.notifications.notifier import services_of
from expertpool.projects.models import Project
from expertpool.reports.archive import open_pdf, report_of
from expertpool.reports.signing import verify_pdf
from expertpool.rooms.models import ScoringTemplate
from expertpool.rooms.sessions import sessions_for_project

pytestmark = pytest.mark.integration


def test_the_demos_past_session_has_a_signed_report_that_validates(app: Flask) -> None:
    st = app.extensions["expertpool"]
    session = st.sessions()
    ctx = DemoContext(
        config=st.config, keys=st.keys, notify=services_of(app).ctx, sessions=st.sessions
    )
    demo.run(session, ctx, options={"experts": 300})
    project = session.execute(select(Project).where(Project.code == CODE)).scalar_one()
    (row,) = sessions_for_project(session, project.id)
    report = report_of(session, row.room_id)
    assert report is not None and row.phase == "archived"
    pdf = open_pdf(st.keys, row.room_id, report.pdf_sealed)
    assert verify_pdf(pdf, st.keys.report_certificates()).is_ok
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages)
    for fragment in ("评标委员会成员", "无效投标及原因", "评委更换记录", "（北京时间）"):
        assert fragment in text, fragment
    # The method came from the centre's template and the committee ran a compliance review: the
    # third bidder failed it by majority, with the members' reasons in the signed report.
    for fragment in ("符合性审查", "实质性响应", "3/5", "总监理工程师须驻场"):
        assert fragment in text, fragment
    centres = session.execute(
        select(Centre.region_code)
        .join(ScoringTemplate, ScoringTemplate.centre_id == Centre.id)
        .where(ScoringTemplate.name == TEMPLATE_NAME)
    ).scalars()
    assert sorted(centres) == sorted(demo_methods.CENTRES)
