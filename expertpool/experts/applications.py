"""Expert applications: registration, drafts and submission.

The form's fields and their checks live in `form`, evidence files in `evidence`, reading and
viewing a record in `records`. Validation happens before any write, so a refused request leaves
nothing partly saved.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from draw import cjson
from expertpool.accounts import users
from expertpool.accounts.models import User, UserRole
from expertpool.core import audit
from expertpool.core.config import Config
from expertpool.core.db import utcnow
from expertpool.core.errors import Conflict, Forbidden, ValidationFailed
from expertpool.core.pii import PiiCipher
from expertpool.core.texts import translated
from expertpool.experts import accounts, lifecycle, records
from expertpool.experts.form import Application, check_application, codes_in, load_reference
from expertpool.experts.models import (
    ApplicationVersion,
    Expert,
    ExpertAvoidance,
    ExpertEmployment,
    ExpertSpecialty,
    ExpertStatus,
)

# Registration ---------------------------------------------------------------------------------


def ensure_record(session: Session, user: User) -> Expert:
    """The user's record, creating an empty draft for an expert account without one; commits."""
    expert = records.record_of(session, user)
    if expert is not None:
        return expert
    if user.role is not UserRole.EXPERT:
        raise Forbidden()
    expert = Expert(user_id=user.id, name=user.display_name, status=ExpertStatus.DRAFT)
    session.add(expert)
    session.flush()
    audit.record(
        session,
        actor=user.username,
        action="expert.create",
        object_type="expert",
        object_id=expert.id,
        after={"status": expert.status.value, "user": user.username},
    )
    session.commit()
    return expert


def register_applicant(
    session: Session, *, username: str, password: str, display_name: str
) -> Expert:
    """A visitor creates an expert account and an empty draft application."""
    if accounts.RESERVED_USERNAME.match(username or ""):
        raise ValidationFailed(
            fields={"username": str(translated("This username is reserved; choose another."))}
        )
    user = users.create_user(
        session,
        actor=username or "anonymous",
        username=username,
        display_name=display_name,
        password=password,
        role=UserRole.EXPERT.value,
        strong=True,
    )
    return ensure_record(session, user)


# Drafts ---------------------------------------------------------------------------------------


def save_draft(
    session: Session,
    *,
    cipher: PiiCipher,
    config: Config,
    actor: User,
    expert_id: int,
    data: Mapping[str, Any],
    today: date | None = None,
    expected_version: int | None = None,
) -> Expert:
    """Validate and store the given fields of a draft or returned application; commits.

    An ID number that another record already holds is stored like any other and the answer is
    the same: telling the submitter would let anyone find out who is in the pool. Reviewers see
    the records sharing it (`records.sharing_id_number`) and `review.decide` refuses to approve
    a second record of one person.
    """
    today = today or utcnow().date()
    expert = records.get_expert(session, expert_id)
    records.check_editable(expert, actor)
    if expected_version is not None and expected_version != expert.version:
        raise Conflict()
    app = check_application(
        data,
        ref=load_reference(session, codes_in(data)),
        config=config,
        today=today,
        complete=False,
    )
    before = records.audit_summary(expert)
    with records.guarded(session):
        _apply(expert, app, cipher)
        session.flush()
        b, a = audit.diff(before, records.audit_summary(expert))
        audit.record(
            session,
            actor=actor.username,
            action="expert.save_draft",
            object_type="expert",
            object_id=expert.id,
            before=b,
            after=a,
        )
        session.commit()
    return expert


def _apply(expert: Expert, app: Application, cipher: PiiCipher) -> None:
    for key, value in app.values.items():
        if key in records.PII_COLUMNS:
            records.set_pii(expert, cipher, key, value)
        else:
            setattr(expert, key, value)
    if app.birth_date is not None:
        expert.birth_date = app.birth_date
    if app.specialties is not None:
        keep = {s.code: s for s in expert.specialties}
        expert.specialties = [
            keep.get(c) or ExpertSpecialty(code=c) for c in sorted(app.specialties)
        ]
    if app.employment is not None:
        expert.employments = [
            ExpertEmployment(
                org_code=r.org_code, org_name=r.org_name, start_on=r.start_on, end_on=r.end_on
            )
            for r in app.employment
        ]
    if app.avoidances is not None:
        expert.avoidances = [
            ExpertAvoidance(org_code=r.org_code, org_name=r.org_name, kind=r.kind)
            for r in app.avoidances
        ]
    if app.consent is not None:
        if app.consent and not expert.has_consented:
            expert.consented_at = utcnow()
        expert.has_consented = app.consent


# Submission -----------------------------------------------------------------------------------


def submit(
    session: Session,
    *,
    cipher: PiiCipher,
    config: Config,
    actor: User,
    expert_id: int,
    today: date | None = None,
    expected_version: int | None = None,
) -> Expert:
    """Submit a complete draft or returned application for review, keeping a version; commits."""
    today = today or utcnow().date()
    expert = records.get_expert(session, expert_id)
    if expert.user_id != actor.id:
        raise Forbidden()
    lifecycle.check(expert.status, ExpertStatus.SUBMITTED)
    if expected_version is not None and expected_version != expert.version:
        raise Conflict()
    data = records.stored_input(expert, cipher)
    fields: dict[str, str] = {}
    try:
        check_application(
            data,
            ref=load_reference(session, expert.specialty_codes),
            config=config,
            today=today,
            complete=True,
        )
    except ValidationFailed as exc:
        fields.update(exc.fields)
    if not expert.evidence:
        fields["evidence"] = str(translated("Attach at least one evidence file."))
    if fields:
        raise ValidationFailed(fields=fields)
    number = 1 + len(
        list(
            session.execute(
                select(ApplicationVersion.id).where(ApplicationVersion.expert_id == expert.id)
            ).scalars()
        )
    )
    with records.guarded(session):
        before = expert.status
        expert.status = ExpertStatus.SUBMITTED
        expert.submitted_at = utcnow()
        session.flush()
        kept = cjson.dumps(records.snapshot(expert, cipher)).decode("utf-8")
        session.add(ApplicationVersion(expert_id=expert.id, number=number, snapshot=kept))
        audit.record(
            session,
            actor=actor.username,
            action="expert.submit",
            object_type="expert",
            object_id=expert.id,
            before={"status": before.value},
            after={"status": expert.status.value, "application_number": number},
        )
        try:
            session.commit()
        except IntegrityError:
            session.rollback()
            raise Conflict() from None
    return expert
