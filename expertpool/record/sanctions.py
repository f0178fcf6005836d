"""Sanctions and objections, decided by a reviewer whose department covers the expert.

A sanction is proposed by a credit threshold (`credit.refresh`) or by a reviewer or supervisor,
with its reason and, where the facts are outside the record, an evidence file (kept in the
encrypted file store); a reviewer decides it. A decided warning is recorded only; a suspension
suspends the expert until its end date (the daily upkeep ends it by itself,
`experts/availability.py`); a removal removes the expert; the permanent bar (实施条例 Arts.
71–72: failing to withdraw, private contact with bidders, bribery) removes the expert for good
and is never lifted. A removal or a bar needs an evidence file. An expert objects once to a
posted session; upholding it reverses that session's deductions.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session

from expertpool.accounts.models import User, UserRole
from expertpool.core import audit
from expertpool.core.calendar import cst_date
from expertpool.core.errors import Conflict, Forbidden, NotFound, ValidationFailed
from expertpool.core.files import FileStore
from expertpool.core.texts import _l
from expertpool.departments import scope
from expertpool.experts.models import Expert, ExpertStatus
from expertpool.projects.projects import supervises
from expertpool.record import credit
from expertpool.record.credit_rules import CreditRules
from expertpool.record.models import (
    CreditEvent,
    Fact,
    FactKind,
    Objection,
    ObjectionStatus,
    Posting,
    Rating,
    Sanction,
    SanctionKind,
    SanctionStatus,
)
from expertpool.statistics.models import Complaint, ComplaintStatus

KIND_LABELS = {
    SanctionKind.WARNING: _l("Warning"),
    SanctionKind.SUSPENSION: _l("Suspension"),
    SanctionKind.REMOVAL: _l("Removal"),
    SanctionKind.BAR: _l("Permanent bar (实施条例 Arts. 71–72)"),
}
STATUS_LABELS = {
    SanctionStatus.PROPOSED: _l("proposed"),
    SanctionStatus.DECIDED: _l("decided"),
    SanctionStatus.REJECTED: _l("rejected"),
    ObjectionStatus.PENDING: _l("pending"),
    ObjectionStatus.UPHELD: _l("upheld"),
}
IN_POOL = (ExpertStatus.ACTIVE, ExpertStatus.ON_LEAVE, ExpertStatus.SUSPENDED)
MAX_EVIDENCE = 10 * 1024 * 1024


def covers(session: Session, user: User, expert: Expert) -> bool:
    """Whether the user's department covers the expert (field by specialties, and region)."""
    if user.role not in (UserRole.REVIEWER, UserRole.SUPERVISOR):
        return False
    return scope.may_review(session, user, [s.code for s in expert.specialties], expert.home_region)


def _expert_in_scope(session: Session, user: User, expert_id: int) -> Expert:
    expert = session.get(Expert, expert_id)
    if expert is None or not covers(session, user, expert):
        raise NotFound()
    return expert


def _text(value: str, field: str, errors: dict[str, str]) -> str:
    value = (value or "").strip()
    if not value or len(value) > 2000:
        errors[field] = _("Required, at most 2,000 characters.")
    return value


def _evidence(
    files: FileStore | None, upload: tuple[bytes, str] | None, errors: dict[str, str]
) -> tuple[str, str]:
    if upload is None or not upload[0] or files is None:
        return "", ""
    data, name = upload
    if len(data) > MAX_EVIDENCE:
        errors["evidence"] = _("The file is too large.")
        return "", ""
    return files.put(data), (name or "evidence")[:200]


def propose(
    session: Session,
    *,
    actor: User,
    expert_id: int,
    kind: str,
    reason: str,
    ends_on: str,
    evidence: tuple[bytes, str] | None,
    files: FileStore,
    today: date,
) -> Sanction:
    """A reviewer or supervisor whose department covers the expert proposes a sanction; commits."""
    expert = _expert_in_scope(session, actor, expert_id)
    errors: dict[str, str] = {}
    try:
        sanction_kind = SanctionKind(kind)
    except ValueError:
        errors["kind"] = _("Choose a sanction.")
        sanction_kind = SanctionKind.WARNING
    text = _text(reason, "reason", errors)
    end = _end(ends_on, sanction_kind, today, errors)
    if errors:
        raise ValidationFailed(fields=errors)
    digest, name = _evidence(files, evidence, errors)
    if errors:
        raise ValidationFailed(fields=errors)
    row = Sanction(
        expert_id=expert.id,
        kind=sanction_kind,
        reason=text,
        proposed_by=actor.username,
        ends_on=end,
        evidence_digest=digest,
        evidence_name=name,
    )
    session.add(row)
    session.flush()
    audit.record(
        session,
        actor=actor.username,
        action="record.sanction_proposed",
        object_type="expert",
        object_id=expert.id,
        after={"sanction": row.id, "kind": sanction_kind.value, "evidence": digest},
    )
    session.commit()
    return row


def _end(ends_on: str, kind: SanctionKind, today: date, errors: dict[str, str]) -> date | None:
    if kind is not SanctionKind.SUSPENSION:
        return None
    try:
        end = date.fromisoformat((ends_on or "").strip())
    except ValueError:
        errors["ends_on"] = _("A suspension needs its last day (YYYY-MM-DD).")
        return None
    if end <= today:
        errors["ends_on"] = _("The last day must be after today.")
        return None
    return end


def sanctions_of(session: Session, expert_id: int) -> list[Sanction]:
    """An expert's sanctions, newest first."""
    return list(
        session.execute(
            select(Sanction).where(Sanction.expert_id == expert_id).order_by(Sanction.id.desc())
        ).scalars()
    )


def visible_sanctions(session: Session, user: User) -> list[tuple[Sanction, Expert]]:
    """Sanctions of experts the user's department covers, open proposals first."""
    out = []
    for row in session.execute(select(Sanction).order_by(Sanction.id.desc())).scalars():
        expert = session.get(Expert, row.expert_id)
        if expert is not None and covers(session, user, expert):
            out.append((row, expert))
    out.sort(key=lambda p: p[0].status is not SanctionStatus.PROPOSED)
    return out


def decide(
    session: Session,
    *,
    actor: User,
    sanction_id: int,
    approve: bool,
    decision: str,
    ends_on: str,
    evidence: tuple[bytes, str] | None,
    files: FileStore | None,
    rules: CreditRules,
    now: datetime,
) -> Sanction:
    """A reviewer of the right department decides a proposed sanction; commits."""
    if actor.role is not UserRole.REVIEWER:
        raise Forbidden(str(_l("A reviewer decides sanctions.")), code="not_reviewer")
    row = session.get(Sanction, sanction_id)
    if row is None:
        raise NotFound()
    expert = _expert_in_scope(session, actor, row.expert_id)
    if row.status is not SanctionStatus.PROPOSED:
        raise Conflict(str(_l("This sanction is already decided.")), code="decided")
    today = cst_date(now)
    errors: dict[str, str] = {}
    text = _text(decision, "decision", errors)
    end = row.ends_on
    if approve and row.kind is SanctionKind.SUSPENSION and (ends_on or end is None):
        end = _end(
            ends_on or (today + timedelta(days=rules.suspension_days)).isoformat(),
            row.kind,
            today,
            errors,
        )
    digest, name = _evidence(files, evidence, errors) if not errors else ("", "")
    if digest:
        row.evidence_digest, row.evidence_name = digest, name
    if approve and row.kind in (SanctionKind.REMOVAL, SanctionKind.BAR) and not row.evidence_digest:
        errors["evidence"] = _("A removal or a bar needs an evidence file.")
    if errors:
        session.rollback()
        raise ValidationFailed(fields=errors)
    row.status = SanctionStatus.DECIDED if approve else SanctionStatus.REJECTED
    row.decision, row.decided_by, row.decided_at, row.ends_on = text, actor.username, now, end
    before = expert.status.value
    if approve:
        _apply(expert, row)
    audit.record(
        session,
        actor=actor.username,
        action="record.sanction_decided" if approve else "record.sanction_rejected",
        object_type="expert",
        object_id=expert.id,
        before={"status": before},
        after={
            "sanction": row.id,
            "kind": row.kind.value,
            "status": expert.status.value,
            "ends_on": end.isoformat() if end else None,
            "evidence": row.evidence_digest,
        },
    )
    session.commit()
    return row


def _apply(expert: Expert, row: Sanction) -> None:
    label = f"sanction #{row.id}: {row.kind.value}"
    if row.kind is SanctionKind.SUSPENSION and expert.status in IN_POOL:
        expert.status = ExpertStatus.SUSPENDED
        expert.suspended_until = row.ends_on
        expert.status_reason = label
    elif row.kind in (SanctionKind.REMOVAL, SanctionKind.BAR) and expert.status in IN_POOL:
        expert.status = ExpertStatus.REMOVED
        expert.suspended_until = None
        expert.status_reason = label


def is_barred(session: Session, expert_id: int) -> bool:
    """Whether a decided permanent bar stands against the expert."""
    return (
        session.execute(
            select(Sanction.id).where(
                Sanction.expert_id == expert_id,
                Sanction.kind == SanctionKind.BAR,
                Sanction.status == SanctionStatus.DECIDED,
            )
        ).first()
        is not None
    )


# Objections ---------------------------------------------------------------------------------------


def objections_of(session: Session, expert_id: int) -> list[Objection]:
    """An expert's objections, newest first."""
    return list(
        session.execute(
            select(Objection).where(Objection.expert_id == expert_id).order_by(Objection.id.desc())
        ).scalars()
    )


def object_to(
    session: Session,
    *,
    expert: Expert,
    session_id: int,
    text: str,
    rules: CreditRules,
    now: datetime,
) -> Objection:
    """The expert objects, once, to a posted session's ratings and facts; commits."""
    posting = session.get(Posting, session_id)
    if posting is None or not _served(session, expert, session_id):
        raise NotFound()
    if now > posting.posted_at + timedelta(days=rules.objection_days):
        raise Conflict(
            str(_l("Objections are taken within %(n)d days of posting.", n=rules.objection_days)),
            code="objection_late",
        )
    existing = session.execute(
        select(Objection.id).where(
            Objection.expert_id == expert.id, Objection.session_id == session_id
        )
    ).first()
    if existing is not None:
        raise Conflict(str(_l("You have already objected to this session.")), code="objected")
    errors: dict[str, str] = {}
    body = _text(text, "text", errors)
    if errors:
        raise ValidationFailed(fields=errors)
    row = Objection(expert_id=expert.id, session_id=session_id, text=body, created_at=now)
    session.add(row)
    session.flush()
    audit.record(
        session,
        actor=f"expert:{expert.id}",
        action="record.objection_made",
        object_type="record_objection",
        object_id=row.id,
        after={"session": session_id},
    )
    session.commit()
    return row


def _served(session: Session, expert: Expert, session_id: int) -> bool:
    rated = session.execute(
        select(Rating.id).where(Rating.session_id == session_id, Rating.user_id == expert.user_id)
    ).first()
    fact = session.execute(
        select(Fact.id).where(Fact.session_id == session_id, Fact.expert_id == expert.id)
    ).first()
    return rated is not None or fact is not None


def pending_objections(session: Session, user: User) -> list[tuple[Objection, Expert]]:
    """Objections of experts the reviewer's department covers, pending first."""
    out = []
    for row in session.execute(select(Objection).order_by(Objection.id.desc())).scalars():
        expert = session.get(Expert, row.expert_id)
        if expert is not None and covers(session, user, expert):
            out.append((row, expert))
    out.sort(key=lambda p: p[0].status is not ObjectionStatus.PENDING)
    return out


def decide_objection(
    session: Session,
    *,
    actor: User,
    objection_id: int,
    uphold: bool,
    decision: str,
    rules: CreditRules,
    now: datetime,
) -> Objection:
    """A reviewer of the right department upholds or rejects an objection; upholding reverses
    the session's deductions for the expert. Commits."""
    if actor.role is not UserRole.REVIEWER:
        raise Forbidden(str(_l("A reviewer decides objections.")), code="not_reviewer")
    row = session.get(Objection, objection_id)
    if row is None:
        raise NotFound()
    expert = _expert_in_scope(session, actor, row.expert_id)
    if row.status is not ObjectionStatus.PENDING:
        raise Conflict(str(_l("This objection is already decided.")), code="decided")
    errors: dict[str, str] = {}
    text = _text(decision, "decision", errors)
    if errors:
        raise ValidationFailed(fields=errors)
    row.status = ObjectionStatus.UPHELD if uphold else ObjectionStatus.REJECTED
    row.decision, row.decided_by, row.decided_at = text, actor.username, now
    reversed_n = 0
    if uphold:
        reversed_ids = set(
            session.execute(
                select(CreditEvent.reverses_id).where(CreditEvent.reverses_id.is_not(None))
            ).scalars()
        )
        for event in session.execute(
            select(CreditEvent).where(
                CreditEvent.expert_id == expert.id,
                CreditEvent.session_id == row.session_id,
                CreditEvent.reverses_id.is_(None),
            )
        ).scalars():
            if event.id in reversed_ids or event.points >= 0:
                continue
            credit.reverse_event(
                session,
                event,
                actor=actor.username,
                day=cst_date(now),
                note=f"objection #{row.id} upheld",
            )
            reversed_n += 1
        credit.refresh(
            session, expert=expert, rules=rules, today=cst_date(now), actor=actor.username
        )
    audit.record(
        session,
        actor=actor.username,
        action="record.objection_upheld" if uphold else "record.objection_rejected",
        object_type="record_objection",
        object_id=row.id,
        after={"reversed": reversed_n},
    )
    session.commit()
    return row


# Complaints upheld ---------------------------------------------------------------------------


def record_complaint_upheld(
    session: Session,
    *,
    actor: User,
    expert_id: int,
    complaint_id: int,
    detail: str,
    rules: CreditRules,
    now: datetime,
) -> Fact:
    """A supervisor of the project's department records that a decided complaint about a closed
    project was upheld against the expert (a fact and its credit event); commits."""
    complaint = session.get(Complaint, complaint_id)
    errors: dict[str, str] = {}
    if (
        actor.role is not UserRole.SUPERVISOR
        or complaint is None
        or not supervises(session, actor, complaint.project)
    ):
        raise NotFound()
    if complaint.status is not ComplaintStatus.DECIDED or not complaint.project.status.is_closed:
        raise Conflict(
            str(_l("Only a decided complaint about a closed project counts.")),
            code="complaint_open",
        )
    expert = session.get(Expert, expert_id)
    if expert is None:
        raise ValidationFailed(fields={"expert_id": _("No such expert.")})
    text = _text(detail, "detail", errors)
    if errors:
        raise ValidationFailed(fields=errors)
    fact = Fact(
        expert_id=expert.id,
        kind=FactKind.COMPLAINT_UPHELD,
        project_id=complaint.project_id,
        detail=f"complaint #{complaint.id}: {text}",
        occurred_at=now,
        recorded_by=actor.username,
    )
    session.add(fact)
    session.flush()
    credit.add_event(
        session,
        expert=expert,
        rules=rules,
        rule=FactKind.COMPLAINT_UPHELD.value,
        day=cst_date(now),
        actor=actor.username,
        project_id=complaint.project_id,
        fact_id=fact.id,
    )
    credit.refresh(session, expert=expert, rules=rules, today=cst_date(now), actor=actor.username)
    audit.record(
        session,
        actor=actor.username,
        action="record.complaint_upheld",
        object_type="expert",
        object_id=expert.id,
        after={"complaint": complaint.id, "fact": fact.id},
    )
    session.commit()
    return fact
