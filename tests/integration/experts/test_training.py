"""Continuing education (issue #22): attendance with a certificate or imported by staff (CSV,
Excel), yearly lapses that suspend and then remove, reminders before a year closes.
"""

from __future__ import annotations

import dataclasses
import io
from datetime import UTC, date, datetime, timedelta
from typing import Any

import openpyxl
import pytest
from sqlalchemy import func, select

from expertpool.core.errors import Forbidden, ValidationFailed
from expertpool.experts import review
from expertpool.experts.models import Expert, ExpertStatus
from expertpool.experts.pool_rules import load_pool_rules
from expertpool.notifications.models import OutboxKind, OutboxMessage
from expertpool.notifications.notifier import services_of
from expertpool.training import records as training
from expertpool.training.models import TrainingLapse, TrainingRecord
from expertpool.upkeep import daily
from tests.integration.experts.conftest import PDF

pytestmark = pytest.mark.integration
APPROVED_AT = datetime(2026, 6, 1, tzinfo=UTC)
RULES = dataclasses.replace(load_pool_rules(), term_years=10)  # no term ends meanwhile


@pytest.fixture()
def admin(make_user: Any) -> Any:
    """An administrator (publishes courses, imports attendance)."""
    return make_user(role="admin")


@pytest.fixture()
def approved(db_session: Any, applicant: Any, make_user: Any) -> Any:
    """Factory: an approved expert; returns (user, expert)."""
    reviewer = make_user(role="reviewer")

    def make(**overrides: Any) -> tuple[Any, Any]:
        user, expert = applicant(**overrides)
        review.decide(db_session, reviewer=reviewer, expert_id=expert.id, decision="approve")
        expert.activated_at = APPROVED_AT  # hours are owed from 2027 whatever today is
        db_session.commit()
        return user, expert

    return make


def _course(db_session: Any, admin: Any, code: str, hours: int, held_on: date) -> Any:
    return training.add_course(
        db_session, actor=admin, code=code, title=f"课程{code}", hours=hours, held_on=held_on
    )


def test_an_expert_records_a_course_with_its_certificate_once(
    db_session: Any, app: Any, approved: Any, admin: Any, cfg: Any
) -> None:
    user, expert = approved()
    _course(db_session, admin, "C2027-01", 8, date(2027, 5, 1))
    with pytest.raises(ValidationFailed) as missing:
        training.record_attendance(
            db_session,
            config=cfg,
            files=app.extensions["expertpool"].files,
            actor=user,
            course_code="C2027-01",
            filename="",
            data=b"",
        )
    assert "certificate" in missing.value.fields
    with pytest.raises(ValidationFailed) as wrong:
        training.record_attendance(
            db_session,
            config=cfg,
            files=app.extensions["expertpool"].files,
            actor=user,
            course_code="C2027-01",
            filename="a.pdf",
            data=b"MZ\x90\x00 not a certificate",
        )
    assert "certificate" in wrong.value.fields
    row = training.record_attendance(
        db_session,
        config=cfg,
        files=app.extensions["expertpool"].files,
        actor=user,
        course_code="C2027-01",
        filename="证书.pdf",
        data=PDF,
    )
    assert (row.hours, row.source, row.certificate_name) == (8, "expert", "证书.pdf")
    stored = (cfg.evidence_path / str(row.certificate_sha256)).read_bytes()
    assert b"%PDF" not in stored  # sealed at rest
    with pytest.raises(ValidationFailed) as twice:
        training.record_attendance(
            db_session,
            config=cfg,
            files=app.extensions["expertpool"].files,
            actor=user,
            course_code="C2027-01",
            filename="b.pdf",
            data=PDF,
        )
    assert "course" in twice.value.fields
    assert training.hours_by_expert(db_session, 2027) == {expert.id: 8}


def test_only_staff_publish_courses_and_bad_input_is_refused_by_field(
    db_session: Any, approved: Any, admin: Any
) -> None:
    user, _ = approved()
    with pytest.raises(Forbidden):
        training.add_course(
            db_session, actor=user, code="X", title="t", hours=1, held_on=date(2027, 1, 1)
        )
    with pytest.raises(ValidationFailed) as bad:
        training.add_course(db_session, actor=admin, code="", title="", hours=0, held_on=None)
    assert set(bad.value.fields) == {"code", "title", "hours", "held_on"}


def _csv(rows: list[list[str]]) -> bytes:
    return ("\ufeff" + "\n".join(",".join(r) for r in rows)).encode("utf-8")


def _xlsx(rows: list[list[str]]) -> bytes:
    book = openpyxl.Workbook()
    for r in rows:
        book.active.append(r)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_staff_import_attendance_from_csv_or_excel_all_or_nothing(
    db_session: Any, approved: Any, admin: Any, cipher: Any
) -> None:
    _, a = approved()
    _, b = approved()
    ida = cipher.decrypt(a.id_number_enc, table="expert", row_id=a.id, column="id_number")
    idb = cipher.decrypt(b.id_number_enc, table="expert", row_id=b.id, column="id_number")
    _course(db_session, admin, "C1", 8, date(2027, 3, 1))
    _course(db_session, admin, "C2", 8, date(2027, 9, 1))
    bad = [["id_number", "course"], [ida, "C1"], [idb, "NOPE"], ["123", "C1"]]
    with pytest.raises(ValidationFailed) as refused:
        training.import_attendance(
            db_session, cipher=cipher, actor=admin, filename="a.csv", data=_csv(bad)
        )
    assert set(refused.value.fields) == {"row 3", "row 4"}
    assert db_session.execute(select(func.count()).select_from(TrainingRecord)).scalar_one() == 0
    good = [["course", "id_number"], ["C1", ida], ["C1", idb]]
    report = training.import_attendance(
        db_session, cipher=cipher, actor=admin, filename="a.csv", data=_csv(good)
    )
    assert (report.added, report.already) == (2, 0)
    again = [["id_number", "course"], [ida, "C1"], [ida, "C2"]]
    report = training.import_attendance(
        db_session, cipher=cipher, actor=admin, filename="名单.xlsx", data=_xlsx(again)
    )
    assert (report.added, report.already) == (1, 1)
    assert training.hours_by_expert(db_session, 2027) == {a.id: 16, b.id: 8}


def test_one_lapsed_year_suspends_and_two_consecutive_remove(
    app: Any, db_session: Any, approved: Any, admin: Any, cfg: Any
) -> None:
    _, trained = approved()
    _, lapsing = approved()
    _course(db_session, admin, "Y1", 16, date(2027, 6, 1))
    training._add_record(
        db_session, trained, training.get_course(db_session, "Y1"), source="import", actor="t"
    )
    db_session.commit()
    ctx = services_of(app).ctx
    # December: a reminder to the expert short of hours, once
    assert (
        daily.run_daily(
            db_session, config=cfg, rules=RULES, today=date(2027, 12, 10), ctx=ctx
        ).training_reminders
        == 1
    )
    assert (
        daily.run_daily(
            db_session, config=cfg, rules=RULES, today=date(2027, 12, 11), ctx=ctx
        ).training_reminders
        == 0
    )
    first = daily.run_daily(db_session, config=cfg, rules=RULES, today=date(2028, 1, 2), ctx=ctx)
    assert (first.training_lapsed, first.training_suspended, first.training_removed) == (1, 1, 0)
    # later runs of the year decide nothing again
    assert (
        daily.run_daily(db_session, config=cfg, rules=RULES, today=date(2028, 1, 3)).training_lapsed
        == 0
    )
    db_session.expire_all()
    assert db_session.get(Expert, trained.id).status is ExpertStatus.ACTIVE
    suspended = db_session.get(Expert, lapsing.id)
    assert suspended.status is ExpertStatus.SUSPENDED
    assert suspended.suspended_until == date(2028, 1, 2) + timedelta(
        days=RULES.lapse_suspension_days
    )
    second = daily.run_daily(db_session, config=cfg, rules=RULES, today=date(2029, 1, 1), ctx=ctx)
    assert (second.training_lapsed, second.training_removed) == (2, 1)  # `trained` lapsed 2028 once
    db_session.expire_all()
    assert db_session.get(Expert, lapsing.id).status is ExpertStatus.REMOVED
    assert db_session.get(Expert, trained.id).status is ExpertStatus.SUSPENDED
    outcomes = dict(
        db_session.execute(
            select(TrainingLapse.year, TrainingLapse.outcome).where(
                TrainingLapse.expert_id == lapsing.id
            )
        ).all()
    )
    assert outcomes == {2027: "suspended", 2028: "removed"}
    sms = db_session.execute(
        select(func.count())
        .select_from(OutboxMessage)
        .where(OutboxMessage.kind == OutboxKind.POOL_REMINDER_SMS)
    ).scalar_one()
    assert sms == 1
