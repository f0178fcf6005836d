"""Publicity (公示) of approved applications: the public list, objections, their resolution and
the activation once the period is over (docs/entry.md).

The public list shows name, employer, title and specialties by name: never an ID number, a
mobile or anything of a draw. An objection's contact is encrypted; an open objection holds the
activation until a reviewer of the last step's department upholds it (the application is
rejected) or dismisses it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from expertpool.accounts.models import User
from expertpool.core import audit
from expertpool.core.db import utcnow
from expertpool.core.errors import Conflict, Forbidden, NotFound, ValidationFailed
from expertpool.core.pii import PiiCipher
from expertpool.core.texts import translated
from expertpool.experts import entry, records
from expertpool.experts.models import (
    EntryState,
    Expert,
    ExpertStatus,
    ObjectionStatus,
    PublicityObjection,
)
from expertpool.experts.pool_rules import PoolRules
from expertpool.experts.review import activate
from expertpool.reference.models import Specialty

TABLE = "publicity_objection"


@dataclass(frozen=True)
class Published:
    """One application as the public list shows it."""

    expert_id: int
    name: str
    organisation: str
    title: str
    specialties: list[str]
    publicity_from: date
    publicity_until: date
    recommended_by: str

    def is_open_on(self, day: date) -> bool:
        """Whether objections are still taken on `day` (from publication to the last day)."""
        return day <= self.publicity_until


def published(session: Session) -> list[Published]:
    """Every application in publicity, the earliest period first."""
    rows = session.execute(
        select(Expert, EntryState)
        .join(EntryState, EntryState.expert_id == Expert.id)
        .where(Expert.status == ExpertStatus.IN_PUBLICITY)
        .options(selectinload(Expert.specialties))
        .order_by(EntryState.publicity_from, Expert.id)
    ).all()
    codes = {s.code for e, _ in rows for s in e.specialties}
    names: dict[str, str] = {}
    if codes:
        found = session.execute(
            select(Specialty.code, Specialty.name).where(Specialty.code.in_(codes))
        ).all()
        names = {code: name for code, name in found}
    return [
        Published(
            expert_id=e.id,
            name=e.name,
            organisation=e.employer_name,
            title=e.title,
            specialties=[names.get(c, c) for c in e.specialty_codes],
            publicity_from=row.publicity_from or date.min,
            publicity_until=row.publicity_until or date.min,
            recommended_by=row.recommended_by,
        )
        for e, row in rows
    ]


def object_to(
    session: Session,
    *,
    cipher: PiiCipher,
    expert_id: int,
    reason: str,
    contact: str,
    today: date,
    ip: str | None,
) -> PublicityObjection:
    """Anyone objects to an application in publicity, with a reason and a contact; commits."""
    reason, contact = (reason or "").strip(), (contact or "").strip()
    fields: dict[str, str] = {}
    if len(reason) < 5:
        fields["reason"] = str(translated("Say what the objection is (at least 5 characters)."))
    elif len(reason) > 2000:
        fields["reason"] = str(translated("At most 2000 characters."))
    if not contact:
        fields["contact"] = str(translated("Give a phone number or an address to reach you."))
    elif len(contact) > 200:
        fields["contact"] = str(translated("At most 200 characters."))
    if fields:
        raise ValidationFailed(fields=fields)
    expert = session.get(Expert, expert_id)
    row = session.get(EntryState, expert_id)
    if (
        expert is None
        or row is None
        or expert.status is not ExpertStatus.IN_PUBLICITY
        or row.publicity_until is None
    ):
        raise NotFound()
    if today > row.publicity_until:
        raise Conflict(str(translated("The publicity period is over.")), code="publicity_over")
    objection = PublicityObjection(expert_id=expert_id, reason=reason)
    session.add(objection)
    session.flush()
    objection.contact_enc = cipher.encrypt(
        contact, table=TABLE, row_id=objection.id, column="contact"
    )
    audit.record(
        session,
        actor="anonymous",
        action="expert.objection",
        object_type="expert",
        object_id=expert_id,
        after={"objection": objection.id, "ip": ip},
    )
    session.commit()
    return objection


def objections(session: Session, expert_id: int) -> list[PublicityObjection]:
    """The objections to one application, oldest first."""
    return list(
        session.execute(
            select(PublicityObjection)
            .where(PublicityObjection.expert_id == expert_id)
            .order_by(PublicityObjection.id)
        ).scalars()
    )


def open_objections(session: Session) -> list[PublicityObjection]:
    """Every objection waiting for a reviewer."""
    return list(
        session.execute(
            select(PublicityObjection)
            .where(PublicityObjection.status == ObjectionStatus.OPEN)
            .order_by(PublicityObjection.id)
        ).scalars()
    )


def contact_of(cipher: PiiCipher, objection: PublicityObjection) -> str:
    """The objector's contact, for the reviewer resolving it."""
    if objection.contact_enc is None:
        return ""
    return cipher.decrypt(objection.contact_enc, table=TABLE, row_id=objection.id, column="contact")


def may_resolve(session: Session, reviewer: User, expert: Expert, rules: entry.EntryRules) -> bool:
    """Whether the reviewer's department owns the last step of the application's chain."""
    return entry.owns(session, reviewer, expert, rules.chain_for(expert.specialty_codes)[-1])


def resolve(
    session: Session,
    *,
    reviewer: User,
    objection_id: int,
    uphold: bool,
    resolution: str,
    rules: entry.EntryRules,
) -> PublicityObjection:
    """Uphold (the application is rejected) or dismiss an open objection; commits."""
    objection = session.get(PublicityObjection, objection_id)
    if objection is None:
        raise NotFound()
    expert = records.get_expert(session, objection.expert_id)
    if not may_resolve(session, reviewer, expert, rules):
        raise Forbidden(
            str(translated("This application is at a step another department owns.")),
            code="not_your_step",
        )
    if objection.status is not ObjectionStatus.OPEN:
        raise Conflict(str(translated("This objection was already resolved.")))
    resolution = (resolution or "").strip()
    if not resolution:
        raise ValidationFailed(fields={"resolution": str(translated("Required."))})
    if len(resolution) > 1000:
        raise ValidationFailed(fields={"resolution": str(translated("At most 1000 characters."))})
    with records.guarded(session):
        objection.status = ObjectionStatus.UPHELD if uphold else ObjectionStatus.DISMISSED
        objection.resolution = resolution
        objection.resolved_by_id = reviewer.id
        objection.resolved_at = utcnow()
        if uphold and expert.status is ExpertStatus.IN_PUBLICITY:
            expert.status = ExpertStatus.REJECTED
            expert.status_reason = resolution
        session.flush()
        audit.record(
            session,
            actor=reviewer.username,
            action="expert.objection_upheld" if uphold else "expert.objection_dismissed",
            object_type="expert",
            object_id=expert.id,
            after={"objection": objection.id, "resolution": resolution},
        )
        session.commit()
    return objection


def activate_after_publicity(session: Session, *, rules: PoolRules, today: date, actor: str) -> int:
    """Activate every application whose publicity ended before `today` with no open objection;
    the caller (the daily upkeep) commits. Returns how many."""
    blocked = select(PublicityObjection.expert_id).where(
        PublicityObjection.status == ObjectionStatus.OPEN
    )
    due = list(
        session.execute(
            select(Expert)
            .join(EntryState, EntryState.expert_id == Expert.id)
            .where(
                Expert.status == ExpertStatus.IN_PUBLICITY,
                EntryState.publicity_until < today,
                Expert.id.not_in(blocked),
            )
            .order_by(Expert.id)
        ).scalars()
    )
    for expert in due:
        activate(session, expert, actor=actor, rules=rules)
        state = session.get(EntryState, expert.id)
        if state is not None:
            state.step = 0
        session.flush()
        audit.record(
            session,
            actor=actor,
            action="expert.activated_after_publicity",
            object_type="expert",
            object_id=expert.id,
            before={"status": "in_publicity"},
            after={"status": "active"},
        )
    return len(due)
