"""Reviewing experts: the queue, decisions, pending changes, sanctions, revealing personal data."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import false, func, or_, select
from sqlalchemy.orm import Session, selectinload
from sqlalchemy.sql.elements import ColumnElement

from draw import cjson
from expertpool.accounts.models import User, UserRole
from expertpool.core import audit
from expertpool.core.calendar import cst_date
from expertpool.core.config import Config
from expertpool.core.db import utcnow
from expertpool.core.errors import Conflict, Forbidden, NotFound, ValidationFailed
from expertpool.core.pii import PiiCipher
from expertpool.core.texts import translated
from expertpool.departments import scope
from expertpool.experts import accounts, entry, lifecycle, records, terms
from expertpool.experts.form import check_application, codes_in, load_reference
from expertpool.experts.models import (
    ApplicationVersion,
    ChangeStatus,
    EntryState,
    Expert,
    ExpertEmployment,
    ExpertSpecialty,
    ExpertStatus,
    PendingChange,
    ReviewDecision,
)
from expertpool.experts.pool_rules import PoolRules, load_pool_rules

DECISIONS = {
    "approve": ExpertStatus.ACTIVE,
    "return": ExpertStatus.RETURNED,
    "reject": ExpertStatus.REJECTED,
}
QUEUE_STATES = (ExpertStatus.SUBMITTED, ExpertStatus.UNDER_REVIEW)
PAGE = 50


def _require_reviewer(session: Session, user: User, expert: Expert) -> None:
    """Only a reviewer of a department covering the expert's specialties and region decides."""
    if user.role is not UserRole.REVIEWER:
        raise Forbidden()
    scope.require_review(session, user, expert.specialty_codes, expert.home_region)


def in_scope(stmt: Any, reviewer: User | None, session: Session) -> Any:
    """Narrow a query of experts to those the reviewer's department covers."""
    if reviewer is None:
        return stmt
    covered = scope.expert_scope(session, reviewer)
    if covered is None:
        return stmt.where(false())
    region: ColumnElement[bool] = Expert.home_region.like(covered.region_prefix + "%")
    if covered.takes_unknown_region:
        region = or_(region, Expert.home_region.is_(None))
    return stmt.where(
        region,
        Expert.id.in_(
            select(ExpertSpecialty.expert_id).where(
                or_(*(ExpertSpecialty.code.like(p + "%") for p in covered.specialty_prefixes))
            )
        ),
    )


@dataclass(frozen=True)
class QueuePage:
    """One page of the review queue."""

    items: list[Expert]
    total: int
    page: int
    per_page: int


def queue(
    session: Session,
    *,
    status: str | None = None,
    city: str | None = None,
    specialty: str | None = None,
    page: int = 1,
    per_page: int = PAGE,
    reviewer: User | None = None,
    entry_rules: entry.EntryRules | None = None,
    today: date | None = None,
) -> QueuePage:
    """Applications waiting for a decision (or any `status`), oldest submission first; a
    reviewer's queue holds only what their department covers and, under `entry_rules`, only the
    applications at a step their department owns whose batch has opened."""
    stmt = in_scope(select(Expert), reviewer, session)
    if status:
        try:
            stmt = stmt.where(Expert.status == ExpertStatus(status))
        except ValueError:
            raise ValidationFailed(fields={"status": str(translated("Unknown status."))}) from None
    else:
        stmt = stmt.where(Expert.status.in_(QUEUE_STATES))
    if city:
        stmt = stmt.where(Expert.home_region == city)
    if specialty:
        prefix = specialty.strip().upper()
        stmt = stmt.where(
            Expert.id.in_(
                select(ExpertSpecialty.expert_id).where(ExpertSpecialty.code.like(prefix + "%"))
            )
        )
    page = max(1, page)
    ordered = stmt.options(selectinload(Expert.specialties)).order_by(
        Expert.submitted_at, Expert.id
    )
    if reviewer is not None and entry_rules is not None and not status:
        # The chain and the batches are decided per application: filter the covered ones.
        day = today or cst_date(utcnow())
        chosen = [
            e
            for e in session.execute(ordered).scalars()
            if entry.batch_open(entry_rules, e, day)
            and entry.owns(session, reviewer, e, current_step(session, entry_rules, e))
        ]
        start = (page - 1) * per_page
        return QueuePage(chosen[start : start + per_page], len(chosen), page, per_page)
    total = session.execute(select(func.count()).select_from(stmt.subquery())).scalar_one()
    items = list(session.execute(ordered.offset((page - 1) * per_page).limit(per_page)).scalars())
    return QueuePage(items, total, page, per_page)


def current_step(session: Session, rules: entry.EntryRules, expert: Expert) -> entry.Step:
    """The step of the review chain an application is at."""
    chain = rules.chain_for(expert.specialty_codes)
    return chain[entry.step_index(chain, session.get(EntryState, expert.id))]


def start_review(session: Session, *, reviewer: User, expert_id: int) -> Expert:
    """Take a submitted application into review; commits."""
    expert = records.get_expert(session, expert_id)
    _require_reviewer(session, reviewer, expert)
    lifecycle.check(expert.status, ExpertStatus.UNDER_REVIEW)
    with records.guarded(session):
        expert.status = ExpertStatus.UNDER_REVIEW
        session.flush()
        audit.record(
            session,
            actor=reviewer.username,
            action="expert.start_review",
            object_type="expert",
            object_id=expert.id,
            before={"status": "submitted"},
            after={"status": "under_review"},
        )
        session.commit()
    return expert


def decide(
    session: Session,
    *,
    reviewer: User,
    expert_id: int,
    decision: str,
    opinion: str = "",
    expected_version: int | None = None,
    rules: PoolRules | None = None,
    entry_rules: entry.EntryRules | None = None,
    today: date | None = None,
) -> Expert:
    """Approve, return (with an opinion) or reject (with a reason) an application at its current
    step of the review chain; commits.

    `entry_rules` (the single-step set when none) give the chain, batches and publicity: an
    approval before the last step passes the application to the next step's department; at the
    last step it starts the publicity, or, with none, activates the expert and starts the first
    term under `rules` (the bundled pool rules when none). A return sends the application back to
    the applicant with the opinion and its next submission starts the chain again.

    A submitted application passes through `under_review` in the same transaction. When two
    reviewers decide at once, the second one's `UPDATE ... WHERE version = :v` matches nothing
    and they get `Conflict`.
    """
    if decision not in DECISIONS:
        raise ValidationFailed(
            fields={"decision": str(translated("Choose approve, return or reject."))}
        )
    opinion = (opinion or "").strip()
    if decision != "approve" and not opinion:
        raise ValidationFailed(
            fields={"opinion": str(translated("Give the applicant your opinion or reason."))}
        )
    if len(opinion) > 1000:
        raise ValidationFailed(fields={"opinion": str(translated("At most 1000 characters."))})
    flow = entry_rules or entry.bundled_rules(entry.SINGLE)
    today = today or cst_date(utcnow())
    expert = records.get_expert(session, expert_id)
    if reviewer.role is not UserRole.REVIEWER:
        raise Forbidden()
    state = session.get(EntryState, expert.id)
    chain = flow.chain_for(expert.specialty_codes)
    index = entry.step_index(chain, state)
    if not entry.owns(session, reviewer, expert, chain[index]):
        if scope.may_review(session, reviewer, expert.specialty_codes, expert.home_region):
            raise Forbidden(
                str(translated("This application is at a step another department owns.")),
                code="not_your_step",
            )
        scope.require_review(session, reviewer, expert.specialty_codes, expert.home_region)
    if expected_version is not None and expected_version != expert.version:
        raise Conflict()
    if expert.status in QUEUE_STATES and not entry.batch_open(flow, expert, today):
        window = flow.batch_of(cst_date(expert.submitted_at or utcnow()))
        raise Conflict(
            str(
                translated(
                    "This application waits for the review batch opening on %(day)s.",
                    day=window[0].isoformat() if window else "",
                )
            ),
            code="batch_not_open",
        )
    before = expert.status
    passes_on = decision == "approve" and index < len(chain) - 1
    if decision != "approve":
        target = DECISIONS[decision]
    elif passes_on:
        target = ExpertStatus.UNDER_REVIEW
    elif flow.publicity_working_days > 0:
        target = ExpertStatus.IN_PUBLICITY
    else:
        target = ExpertStatus.ACTIVE
    path = [ExpertStatus.UNDER_REVIEW] if before is ExpertStatus.SUBMITTED else []
    if target is not ExpertStatus.UNDER_REVIEW or not path:
        path.append(target)
    current = before
    for step in path:
        if step is not current:
            lifecycle.check(current, step)
        current = step
    if before not in QUEUE_STATES:
        raise lifecycle.illegal(before, target)
    if current in (ExpertStatus.ACTIVE, ExpertStatus.IN_PUBLICITY):
        _refuse_a_second_record(session, expert)
    number = session.execute(
        select(func.max(ApplicationVersion.number)).where(ApplicationVersion.expert_id == expert.id)
    ).scalar_one()
    after: dict[str, Any] = {
        "status": current.value,
        "opinion": opinion,
        "application_number": number,
        "step": chain[index].name,
    }
    with records.guarded(session):
        expert.status = current
        expert.status_reason = opinion
        row = entry.state_of(session, expert)
        if passes_on:
            row.step = index + 1
        elif current is not ExpertStatus.IN_PUBLICITY:
            row.step = 0
        if current is ExpertStatus.IN_PUBLICITY:
            start, end = entry.publicity_period(today, flow.publicity_working_days)
            row.publicity_from, row.publicity_until = start, end
            after["publicity"] = [start.isoformat(), end.isoformat()]
        if current is ExpertStatus.ACTIVE:
            activate(session, expert, actor=reviewer.username, rules=rules)
        session.flush()
        session.add(
            ReviewDecision(
                expert_id=expert.id,
                reviewer_id=reviewer.id,
                decision=decision,
                opinion=opinion,
                application_number=number,
                step=index,
            )
        )
        audit.record(
            session,
            actor=reviewer.username,
            action=f"expert.{decision}",
            object_type="expert",
            object_id=expert.id,
            before={"status": before.value},
            after=after,
        )
        session.commit()
    return expert


def activate(session: Session, expert: Expert, *, actor: str, rules: PoolRules | None) -> None:
    """Make an approved record active: its first term, its ongoing employment and an account;
    the caller flushes and commits."""
    expert.status = ExpertStatus.ACTIVE
    expert.activated_at = utcnow()
    terms.start_term(expert, rules or load_pool_rules(), cst_date(expert.activated_at))
    _open_employment(expert)
    # An imported record has no account yet: it gets one without a password, which its
    # owner activates with a one-time SMS code.
    accounts.ensure_account(session, expert, actor=actor)


#: The states of a record that is in the pool (a candidate of draws now or after leave).
IN_POOL = (ExpertStatus.ACTIVE, ExpertStatus.ON_LEAVE, ExpertStatus.SUSPENDED)


def _refuse_a_second_record(session: Session, expert: Expert) -> None:
    """One person is in the pool once: approving a record whose ID number a record in the pool
    already holds is refused (a message for the reviewer only; the applicant never sees it)."""
    holders = [e for e in records.sharing_id_number(session, expert) if e.status in IN_POOL]
    if holders:
        raise ValidationFailed(
            fields={
                "decision": str(
                    translated(
                        "This ID number also belongs to record #%(id)d, which is in the pool: "
                        "reject this application, or remove that record first.",
                        id=holders[0].id,
                    )
                )
            }
        )


def _open_employment(expert: Expert) -> None:
    """Make sure the current employer appears as an ongoing employment (the draw's look-back uses
    it).
    """
    if not expert.employer_code:
        return
    if any(e.org_code == expert.employer_code and e.end_on is None for e in expert.employments):
        return
    expert.employments.append(
        ExpertEmployment(
            org_code=expert.employer_code,
            org_name=expert.employer_name,
            start_on=utcnow().date(),
            end_on=None,
        )
    )


def decisions(session: Session, expert_id: int) -> list[ReviewDecision]:
    """Every decision taken on an expert, oldest first."""
    return list(
        session.execute(
            select(ReviewDecision)
            .where(ReviewDecision.expert_id == expert_id)
            .order_by(ReviewDecision.decided_at, ReviewDecision.id)
        ).scalars()
    )


def reveal(
    session: Session, *, cipher: PiiCipher, user: User, expert_id: int, reason: str
) -> dict[str, str]:
    """The clear ID number and phone for a reviewer who gives a reason (audited); commits."""
    expert = records.get_expert(session, expert_id)
    if expert.user_id == user.id:
        return records.clear_pii(expert, cipher)
    _require_reviewer(session, user, expert)
    reason = (reason or "").strip()
    if len(reason) < 4:
        raise ValidationFailed(
            fields={"reason": str(translated("Say why you need to see the personal data."))}
        )
    audit.record(
        session,
        actor=user.username,
        action="expert.reveal_pii",
        object_type="expert",
        object_id=expert.id,
        after={"reason": reason[:500]},
    )
    session.commit()
    return records.clear_pii(expert, cipher)


# Pending changes of active experts -------------------------------------------------------------

CHANGE_KEYS = ("specialties", "employer_code", "employer_name", "title", "title_level")


def propose_change(
    session: Session,
    *,
    config: Config,
    actor: User,
    expert_id: int,
    data: Mapping[str, Any],
    today: date | None = None,
) -> PendingChange:
    """An expert in the pool proposes new specialties, employer or title; reviewed before it
    applies.
    """
    today = today or utcnow().date()
    expert = records.get_expert(session, expert_id)
    if expert.user_id != actor.id:
        raise Forbidden()
    if not expert.is_in_pool:
        raise lifecycle.illegal(expert.status, "pending change")
    given = {k: data[k] for k in CHANGE_KEYS if data.get(k) not in (None, "", [])}
    if not given:
        raise ValidationFailed(
            fields={
                "specialties": str(
                    translated("Change at least one of specialties, employer or title.")
                )
            }
        )
    if ("employer_code" in given) != ("employer_name" in given):
        missing = "employer_name" if "employer_code" in given else "employer_code"
        raise ValidationFailed(fields={missing: str(translated("Required."))})
    ref = load_reference(session, codes_in(given))
    app = check_application(given, ref=ref, config=config, today=today, complete=False)
    open_change = session.execute(
        select(PendingChange).where(
            PendingChange.expert_id == expert.id, PendingChange.status == ChangeStatus.PENDING
        )
    ).scalar_one_or_none()
    if open_change is not None:
        raise Conflict(
            str(translated("A change is already waiting for review.")), code="change_pending"
        )
    payload: dict[str, Any] = {
        k: (v.value if hasattr(v, "value") else v) for k, v in app.values.items()
    }
    if app.specialties is not None:
        payload["specialties"] = app.specialties
    change = PendingChange(expert_id=expert.id, payload=cjson.dumps(payload).decode("utf-8"))
    session.add(change)
    session.flush()
    audit.record(
        session,
        actor=actor.username,
        action="expert.propose_change",
        object_type="expert",
        object_id=expert.id,
        after={"change": change.id, **payload},
    )
    session.commit()
    return change


def pending_changes(
    session: Session, expert_id: int | None = None, *, reviewer: User | None = None
) -> list[PendingChange]:
    """Changes waiting for review (of one expert, or all; a reviewer's: those they cover)."""
    stmt = select(PendingChange).where(PendingChange.status == ChangeStatus.PENDING)
    if reviewer is not None:
        stmt = stmt.where(
            PendingChange.expert_id.in_(in_scope(select(Expert.id), reviewer, session))
        )
    if expert_id is not None:
        stmt = stmt.where(PendingChange.expert_id == expert_id)
    return list(
        session.execute(stmt.order_by(PendingChange.created_at, PendingChange.id)).scalars()
    )


def decide_change(
    session: Session, *, reviewer: User, change_id: int, approve: bool, opinion: str = ""
) -> PendingChange:
    """Apply or refuse a pending change; the live record changes only on approval; commits."""
    change = session.get(PendingChange, change_id)
    if change is None:
        raise NotFound()
    _require_reviewer(session, reviewer, records.get_expert(session, change.expert_id))
    if change.status is not ChangeStatus.PENDING:
        raise Conflict(str(translated("This change was already decided.")))
    opinion = (opinion or "").strip()
    if not approve and not opinion:
        raise ValidationFailed(
            fields={"opinion": str(translated("Give the applicant your opinion or reason."))}
        )
    expert = records.get_expert(session, change.expert_id)
    payload = json.loads(change.payload)
    before = {
        k: getattr(expert, k) if k != "specialties" else expert.specialty_codes for k in payload
    }
    before = {k: (v.value if hasattr(v, "value") else v) for k, v in before.items()}
    with records.guarded(session):
        change.status = ChangeStatus.APPROVED if approve else ChangeStatus.REJECTED
        change.decided_by_id = reviewer.id
        change.decided_at = utcnow()
        change.opinion = opinion
        if approve:
            today = utcnow().date()
            if "specialties" in payload:
                keep = {s.code: s for s in expert.specialties}
                expert.specialties = [
                    keep.get(c) or ExpertSpecialty(code=c) for c in sorted(payload["specialties"])
                ]
            if "employer_code" in payload and payload["employer_code"] != expert.employer_code:
                for e in expert.employments:
                    if e.end_on is None:
                        e.end_on = today
                expert.employer_code = payload["employer_code"]
                expert.employer_name = payload["employer_name"]
                expert.employments.append(
                    ExpertEmployment(
                        org_code=payload["employer_code"],
                        org_name=payload["employer_name"],
                        start_on=today,
                    )
                )
            for key in ("title", "title_level"):
                if key in payload:
                    setattr(expert, key, payload[key])
            expert.updated_at = utcnow()
        session.flush()
        session.add(
            ReviewDecision(
                expert_id=expert.id,
                reviewer_id=reviewer.id,
                decision="approve" if approve else "reject",
                opinion=opinion,
                pending_change_id=change.id,
            )
        )
        audit.record(
            session,
            actor=reviewer.username,
            action="expert.change_approved" if approve else "expert.change_rejected",
            object_type="expert",
            object_id=expert.id,
            before=before if approve else {},
            after={"change": change.id, **(payload if approve else {}), "opinion": opinion},
        )
        session.commit()
    return change


# Sanctions and exits ---------------------------------------------------------------------------


def change_status(
    session: Session,
    *,
    actor: User,
    expert_id: int,
    target: str,
    reason: str,
    until: date | None = None,
    today: date | None = None,
) -> Expert:
    """Suspend (with an end date), reinstate, retire or remove an expert; supervisors and admins;
    commits.
    """
    if actor.role is not UserRole.SUPERVISOR:
        raise Forbidden()
    target_expert = records.get_expert(session, expert_id)
    if not scope.may_review(
        session, actor, target_expert.specialty_codes, target_expert.home_region
    ):
        raise Forbidden(code="outside_department")
    today = today or utcnow().date()
    try:
        status = ExpertStatus(target)
    except ValueError:
        raise ValidationFailed(fields={"status": str(translated("Unknown status."))}) from None
    if status not in (
        ExpertStatus.SUSPENDED,
        ExpertStatus.ACTIVE,
        ExpertStatus.RETIRED,
        ExpertStatus.REMOVED,
    ):
        raise ValidationFailed(fields={"status": str(translated("Unknown status."))})
    reason = (reason or "").strip()
    fields = {}
    if not reason:
        fields["reason"] = str(translated("Required."))
    if status is ExpertStatus.SUSPENDED and (until is None or until <= today):
        fields["until"] = str(translated("A suspension needs an end date after today."))
    if fields:
        raise ValidationFailed(fields=fields)
    expert = records.get_expert(session, expert_id)
    lifecycle.check(expert.status, status)
    before = {
        "status": expert.status.value,
        "suspended_until": expert.suspended_until.isoformat() if expert.suspended_until else None,
    }
    with records.guarded(session):
        expert.status = status
        expert.status_reason = reason
        expert.suspended_until = until if status is ExpertStatus.SUSPENDED else None
        session.flush()
        audit.record(
            session,
            actor=actor.username,
            action=f"expert.{status.value}",
            object_type="expert",
            object_id=expert.id,
            before=before,
            after={
                "status": status.value,
                "reason": reason,
                "suspended_until": until.isoformat()
                if until and status is ExpertStatus.SUSPENDED
                else None,
            },
        )
        session.commit()
    return expert
