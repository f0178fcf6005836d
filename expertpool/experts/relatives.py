"""Near relatives an expert declares by ID number (encrypted, blind-indexed), for the conflict
rules of every draw: relatives of bidders' principals, and related experts on one committee.

Declaring a relative is the expert's own act on their own record; it takes effect at the next
draw. Nothing about a relative but the kind and the ID number is stored.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy.orm import Session

from expertpool.accounts.models import User
from expertpool.core import audit
from expertpool.core.db import utcnow
from expertpool.core.errors import Forbidden, NotFound, ValidationFailed
from expertpool.core.pii import PiiCipher
from expertpool.core.texts import translated
from expertpool.experts import identity, records
from expertpool.experts.models import ExpertRelative, RelativeKind

MAX_RELATIVES = 30


def declare_relative(
    session: Session,
    *,
    cipher: PiiCipher,
    actor: User,
    kind: str,
    id_number: str,
    today: date | None = None,
) -> ExpertRelative:
    """Add a near relative to the actor's own record; field errors for bad input; commits."""
    expert = records.record_of(session, actor)
    if expert is None:
        raise Forbidden()
    fields: dict[str, str] = {}
    try:
        relation = RelativeKind(kind)
    except ValueError:
        fields["kind"] = str(translated("Choose one of the listed relations."))
    value = ""
    try:
        value, _ = identity.check_id_number(id_number, today or utcnow().date())
    except identity.InvalidIdentifier as exc:
        fields["id_number"] = str(exc)
    bidx = cipher.blind_index(value, "id_number") if value else ""
    if value and bidx == expert.id_number_bidx:
        fields["id_number"] = str(translated("This is your own ID number."))
    if value and any(r.id_number_bidx == bidx for r in expert.relatives):
        fields["id_number"] = str(translated("This relative is already declared."))
    if len(expert.relatives) >= MAX_RELATIVES:
        fields["id_number"] = str(translated("At most %(n)d relatives.", n=MAX_RELATIVES))
    if fields:
        raise ValidationFailed(fields=fields)
    with records.guarded(session):
        row = ExpertRelative(kind=relation, id_number_bidx=bidx)
        expert.relatives.append(row)
        session.flush()
        row.id_number_enc = cipher.encrypt(
            value, table="expert_relative", row_id=row.id, column="id_number"
        )
        audit.record(
            session,
            actor=actor.username,
            action="expert.relative",
            object_type="expert",
            object_id=expert.id,
            after={"kind": relation.value, "relative": row.id},
        )
        session.commit()
    return row


def remove_relative(session: Session, *, actor: User, relative_id: int) -> None:
    """Withdraw a declared relative from the actor's own record; commits."""
    row = session.get(ExpertRelative, relative_id)
    if row is None:
        raise NotFound()
    expert = records.get_expert(session, row.expert_id)
    if expert.user_id != actor.id:
        raise Forbidden()
    with records.guarded(session):
        expert.relatives.remove(row)
        session.flush()
        audit.record(
            session,
            actor=actor.username,
            action="expert.relative_remove",
            object_type="expert",
            object_id=expert.id,
            before={"relative": relative_id},
        )
        session.commit()
