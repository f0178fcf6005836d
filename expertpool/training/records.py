"""Courses and attendance: an expert records a course with a certificate, staff import a list.

Hours count in the calendar year of the course. An import is all or nothing: one bad row refuses
the whole file with each row's error, so a refused import saves nothing.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from dataclasses import dataclass
from datetime import date

import openpyxl
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from expertpool.accounts.models import User, UserRole
from expertpool.core import audit
from expertpool.core.config import Config
from expertpool.core.db import utcnow
from expertpool.core.errors import Forbidden, NotFound, ValidationFailed
from expertpool.core.files import FileStore
from expertpool.core.pii import PiiCipher
from expertpool.core.texts import translated
from expertpool.experts import evidence, identity, records
from expertpool.experts.models import Expert
from expertpool.training.models import TrainingCourse, TrainingRecord

STAFF = (UserRole.ADMIN, UserRole.REVIEWER)
_CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,39}")
MAX_IMPORT_ROWS = 5000


def _require_staff(actor: User) -> None:
    if actor.role not in STAFF:
        raise Forbidden()


def get_course(session: Session, code: str) -> TrainingCourse:
    """A course by its code."""
    course = session.execute(
        select(TrainingCourse).where(TrainingCourse.code == code.strip())
    ).scalar_one_or_none()
    if course is None:
        raise NotFound()
    return course


def list_courses(session: Session) -> list[TrainingCourse]:
    """Every course, newest first."""
    return list(
        session.execute(
            select(TrainingCourse).order_by(TrainingCourse.held_on.desc(), TrainingCourse.code)
        ).scalars()
    )


def add_course(
    session: Session,
    *,
    actor: User,
    code: str,
    title: str,
    hours: int | None,
    held_on: date | None,
    provider: str = "",
) -> TrainingCourse:
    """Publish a course (staff); field errors for bad input; audited; commits."""
    _require_staff(actor)
    code, title = (code or "").strip(), (title or "").strip()
    fields: dict[str, str] = {}
    if not _CODE.fullmatch(code):
        fields["code"] = str(translated("Letters, digits, dot, dash or underscore (1 to 40)."))
    if not title or len(title) > 200:
        fields["title"] = str(translated("Required, at most 200 characters."))
    if hours is None or not 1 <= hours <= 200:
        fields["hours"] = str(translated("Between 1 and 200 hours."))
    if held_on is None:
        fields["held_on"] = str(translated("Required."))
    if (
        not fields
        and session.execute(select(TrainingCourse.id).where(TrainingCourse.code == code)).first()
    ):
        fields["code"] = str(translated("A course with this code exists."))
    if fields:
        raise ValidationFailed(fields=fields)
    assert hours is not None and held_on is not None
    course = TrainingCourse(
        code=code, title=title, hours=hours, held_on=held_on, provider=(provider or "")[:200]
    )
    session.add(course)
    session.flush()
    audit.record(
        session,
        actor=actor.username,
        action="training.course",
        object_type="training_course",
        object_id=course.id,
        after={"code": code, "hours": hours, "held_on": held_on.isoformat()},
    )
    session.commit()
    return course


def _add_record(
    session: Session,
    expert: Expert,
    course: TrainingCourse,
    *,
    source: str,
    actor: str,
    certificate: tuple[str, str] | None = None,
) -> TrainingRecord | None:
    """One attendance (None when the expert already has this course on record)."""
    if session.execute(
        select(TrainingRecord.id).where(
            TrainingRecord.expert_id == expert.id, TrainingRecord.course_id == course.id
        )
    ).first():
        return None
    row = TrainingRecord(
        expert_id=expert.id,
        course_id=course.id,
        hours=course.hours,
        completed_on=course.held_on,
        source=source,
        certificate_sha256=certificate[0] if certificate else None,
        certificate_name=certificate[1] if certificate else "",
        recorded_by=actor,
    )
    session.add(row)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action=f"training.{source}",
        object_type="expert",
        object_id=expert.id,
        after={"course": course.code, "hours": course.hours},
    )
    return row


def record_attendance(
    session: Session,
    *,
    config: Config,
    files: FileStore,
    actor: User,
    course_code: str,
    filename: str,
    data: bytes,
) -> TrainingRecord:
    """The expert records a course they attended, with its certificate (PDF or image); commits."""
    expert = records.record_of(session, actor)
    if expert is None or not expert.is_in_pool:
        raise Forbidden()
    try:
        course = get_course(session, course_code)
    except NotFound:
        raise ValidationFailed(
            fields={"course": str(translated("No course has this code."))}
        ) from None
    if not data:
        raise ValidationFailed(fields={"certificate": str(translated("Required."))})
    try:
        evidence.sniff_evidence(filename, data, config.evidence_max_bytes)
    except ValidationFailed as exc:
        raise ValidationFailed(
            fields={"certificate": next(iter(exc.fields.values()), "")}
        ) from None
    digest = files.put(data)
    name = (filename or "certificate").strip()[-255:]
    try:
        row = _add_record(
            session,
            expert,
            course,
            source="expert",
            actor=actor.username,
            certificate=(digest, name),
        )
    except IntegrityError:
        session.rollback()
        row = None
    if row is None:
        raise ValidationFailed(
            fields={"course": str(translated("This course is already on your record."))}
        )
    session.commit()
    return row


@dataclass(frozen=True)
class ImportReport:
    """What an import added (rows already on record are counted, not added twice)."""

    added: int
    already: int


def _rows(filename: str, data: bytes) -> list[list[str]]:
    """The rows of a CSV (UTF-8, with or without BOM) or Excel (.xlsx) file, header included."""
    if filename.lower().endswith(".xlsx"):
        return _xlsx_rows(data)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ValidationFailed(
            fields={"file": str(translated("Save the file as UTF-8 CSV or Excel (.xlsx)."))}
        ) from None
    return [row for row in csv.reader(io.StringIO(text)) if any(c.strip() for c in row)]


def _xlsx_rows(data: bytes) -> list[list[str]]:
    try:
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception:
        raise ValidationFailed(
            fields={"file": str(translated("Save the file as UTF-8 CSV or Excel (.xlsx)."))}
        ) from None
    sheet = book.worksheets[0]
    out = []
    for values in sheet.iter_rows(values_only=True):
        row = ["" if v is None else str(v).strip() for v in values]
        if any(row):
            out.append(row)
    book.close()
    return out


def import_attendance(
    session: Session,
    *,
    cipher: PiiCipher,
    actor: User,
    filename: str,
    data: bytes,
    today: date | None = None,
) -> ImportReport:
    """Staff import attendance: columns `id_number`, `course` (a header row); all or nothing.

    Experts are found by national ID number (the blind index), never by name.
    """
    _require_staff(actor)
    today = today or utcnow().date()
    rows = _rows(filename or "", data)
    if not rows:
        raise ValidationFailed(fields={"file": str(translated("The file is empty."))})
    header = [c.strip().lower() for c in rows[0]]
    if "id_number" not in header or "course" not in header:
        raise ValidationFailed(
            fields={
                "file": str(translated("The first row must name the columns id_number and course."))
            }
        )
    if len(rows) - 1 > MAX_IMPORT_ROWS:
        raise ValidationFailed(
            fields={"file": str(translated("At most %(n)d rows per file.", n=MAX_IMPORT_ROWS))}
        )
    at_id, at_course = header.index("id_number"), header.index("course")
    errors: dict[str, str] = {}
    pairs: list[tuple[Expert, TrainingCourse]] = []
    courses: dict[str, TrainingCourse | None] = {}
    for line, row in enumerate(rows[1:], start=2):
        cells = row + [""] * (max(at_id, at_course) + 1 - len(row))
        id_number, code = cells[at_id].strip().upper(), cells[at_course].strip()
        try:
            identity.check_id_number(id_number, today)
        except identity.InvalidIdentifier:
            errors[f"row {line}"] = str(translated("Not a valid ID number."))
            continue
        if code not in courses:
            courses[code] = session.execute(
                select(TrainingCourse).where(TrainingCourse.code == code)
            ).scalar_one_or_none()
        course = courses[code]
        if course is None:
            errors[f"row {line}"] = str(translated("No course has this code."))
            continue
        expert = records.find_by_id_number(session, cipher, id_number)
        if expert is None:
            errors[f"row {line}"] = str(translated("No expert has this ID number."))
            continue
        pairs.append((expert, course))
    if errors:
        raise ValidationFailed(fields=errors)
    added = already = 0
    for expert, course in pairs:
        if _add_record(session, expert, course, source="import", actor=actor.username):
            added += 1
        else:
            already += 1
    audit.record(
        session,
        actor=actor.username,
        action="training.import_file",
        object_type="training_import",
        object_id=hashlib.sha256(data).hexdigest()[:16],
        after={"rows": len(pairs), "added": added, "already": already},
    )
    session.commit()
    return ImportReport(added=added, already=already)


def hours_by_expert(session: Session, year: int) -> dict[int, int]:
    """Hours completed in a calendar year, by expert (experts with none are absent)."""
    return dict(
        session.execute(
            select(TrainingRecord.expert_id, func.sum(TrainingRecord.hours))
            .where(
                TrainingRecord.completed_on >= date(year, 1, 1),
                TrainingRecord.completed_on <= date(year, 12, 31),
            )
            .group_by(TrainingRecord.expert_id)
        ).all()
    )


def own_records(session: Session, expert_id: int) -> list[tuple[TrainingRecord, TrainingCourse]]:
    """An expert's attendance, newest first."""
    return [
        (r, c)
        for r, c in session.execute(
            select(TrainingRecord, TrainingCourse)
            .join(TrainingCourse, TrainingCourse.id == TrainingRecord.course_id)
            .where(TrainingRecord.expert_id == expert_id)
            .order_by(TrainingRecord.completed_on.desc())
        ).all()
    ]
