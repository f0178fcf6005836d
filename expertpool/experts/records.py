"""Expert records: finding one, guarding its writes, its personal data, views, versions.

Everything here reads or protects a record; changing an application is `applications`' business.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from expertpool.accounts.models import User
from expertpool.core.errors import Conflict, Forbidden, NotFound
from expertpool.core.pii import PiiCipher
from expertpool.experts import identity, lifecycle
from expertpool.experts.identity import InvalidIdentifier
from expertpool.experts.models import ApplicationVersion, Expert

PII_COLUMNS = ("id_number", "phone")
"""The encrypted columns of a record, each with a blind index for look-ups."""


# Finding and guarding -------------------------------------------------------------------------


@contextmanager
def guarded(session: Session) -> Iterator[None]:
    """Turn a lost optimistic-concurrency race into `Conflict`, rolling back."""
    try:
        yield
    except StaleDataError:
        session.rollback()
        raise Conflict() from None


def get_expert(session: Session, expert_id: int) -> Expert:
    """The expert or `NotFound`."""
    expert = session.get(Expert, expert_id)
    if expert is None:
        raise NotFound(code="expert_not_found")
    return expert


def record_of(session: Session, user: User) -> Expert | None:
    """The expert record of a user, if any."""
    return session.execute(select(Expert).where(Expert.user_id == user.id)).scalar_one_or_none()


def check_editable(expert: Expert, actor: User) -> None:
    """Refuse unless the actor owns the record and its application may still be edited."""
    if expert.user_id != actor.id:
        raise Forbidden()
    if not expert.is_editable:
        raise lifecycle.illegal(expert.status, "edit")


# Personal data --------------------------------------------------------------------------------


def clear_pii(expert: Expert, cipher: PiiCipher) -> dict[str, str]:
    """The decrypted ID number and phone (empty when not given)."""
    out = {}
    for column, blob in (("id_number", expert.id_number_enc), ("phone", expert.phone_enc)):
        out[column] = (
            cipher.decrypt(blob, table="expert", row_id=expert.id, column=column) if blob else ""
        )
    return out


def set_pii(expert: Expert, cipher: PiiCipher, column: str, value: str) -> None:
    """Store one personal-data column encrypted, with its blind index."""
    setattr(
        expert,
        f"{column}_enc",
        cipher.encrypt(value, table="expert", row_id=expert.id, column=column),
    )
    setattr(expert, f"{column}_bidx", cipher.blind_index(value, column))


def find_by_id_number(session: Session, cipher: PiiCipher, id_number: str) -> Expert | None:
    """Look an expert up by national ID number through the blind index (the oldest record when
    several share it: see `sharing_id_number`)."""
    value = id_number.strip().upper()
    return (
        session.execute(
            select(Expert)
            .where(Expert.id_number_bidx == cipher.blind_index(value, "id_number"))
            .order_by(Expert.id)
        )
        .scalars()
        .first()
    )


def sharing_id_number(session: Session, expert: Expert) -> list[Expert]:
    """The other records holding the same ID number, oldest first: for reviewers only.

    Registration stores an ID number another record holds without a word to the submitter (that
    answer would tell anyone who is in the pool); the reviewer sees the match and decides.
    """
    if expert.id_number_bidx is None:
        return []
    return list(
        session.execute(
            select(Expert)
            .where(Expert.id_number_bidx == expert.id_number_bidx, Expert.id != expert.id)
            .order_by(Expert.id)
        ).scalars()
    )


def shared_id_numbers(session: Session, experts: Iterable[Expert]) -> dict[int, list[int]]:
    """For each of `experts` whose ID number another record holds: the other records' ids.

    For reviewers only (the review queue), never for the applicant."""
    by_bidx: dict[str, list[int]] = {}
    for e in experts:
        if e.id_number_bidx is not None:
            by_bidx.setdefault(e.id_number_bidx, []).append(e.id)
    if not by_bidx:
        return {}
    holders: dict[str, list[int]] = {}
    for bidx, eid in session.execute(
        select(Expert.id_number_bidx, Expert.id)
        .where(Expert.id_number_bidx.in_(list(by_bidx)))
        .order_by(Expert.id)
    ).all():
        if bidx is not None:
            holders.setdefault(bidx, []).append(eid)
    out: dict[int, list[int]] = {}
    for bidx, ids in by_bidx.items():
        for eid in ids:
            others = [o for o in holders.get(bidx, []) if o != eid]
            if others:
                out[eid] = others
    return out


def find_by_phone(session: Session, cipher: PiiCipher, phone: str) -> list[Expert]:
    """Experts with this mobile number (E.164 or national form)."""
    try:
        value = identity.check_mobile(phone)
    except InvalidIdentifier:
        return []
    return list(
        session.execute(
            select(Expert).where(Expert.phone_bidx == cipher.blind_index(value, "phone"))
        ).scalars()
    )


# Views ----------------------------------------------------------------------------------------


def view(expert: Expert, cipher: PiiCipher, *, reveal: bool = False) -> dict[str, Any]:
    """A JSON-ready view of a record; personal data masked unless `reveal`."""
    pii = clear_pii(expert, cipher)
    if not reveal:
        pii = {
            "id_number": identity.mask_id_number(pii["id_number"]) if pii["id_number"] else "",
            "phone": identity.mask_phone(pii["phone"]) if pii["phone"] else "",
        }
    return {
        "id": expert.id,
        "name": expert.name,
        **pii,
        "email": expert.email,
        "title": expert.title,
        "title_level": expert.title_level.value if expert.title_level else None,
        "years_experience": expert.years_experience,
        "birth_date": expert.birth_date.isoformat() if expert.birth_date else None,
        "home_region": expert.home_region,
        "employer_code": expert.employer_code,
        "employer_name": expert.employer_name,
        "specialties": expert.specialty_codes,
        "employment": [
            {
                "org_code": e.org_code,
                "org_name": e.org_name,
                "start_on": e.start_on.isoformat(),
                "end_on": e.end_on.isoformat() if e.end_on else None,
            }
            for e in expert.employments
        ],
        "avoidances": [
            {"org_code": a.org_code, "org_name": a.org_name, "kind": a.kind.value}
            for a in expert.avoidances
        ],
        "evidence": [
            {
                "id": f.id,
                "name": f.original_name,
                "mime": f.mime,
                "size": f.size,
                "sha256": f.sha256,
            }
            for f in expert.evidence
        ],
        "leave": [
            {
                "id": lv.id,
                "start_on": lv.start_on.isoformat(),
                "end_on": lv.end_on.isoformat(),
                "reason": lv.reason,
            }
            for lv in expert.leaves
        ],
        "status": expert.status.value,
        "suspended_until": expert.suspended_until.isoformat() if expert.suspended_until else None,
        "consent": expert.has_consented,
        "version": expert.version,
    }


def audit_summary(expert: Expert) -> dict[str, Any]:
    """Audit view: no personal data, only whether it is present."""
    return {
        "name": expert.name,
        "email": expert.email,
        "title": expert.title,
        "title_level": expert.title_level.value if expert.title_level else None,
        "years_experience": expert.years_experience,
        "home_region": expert.home_region,
        "employer_code": expert.employer_code,
        "employer_name": expert.employer_name,
        "specialties": expert.specialty_codes,
        "has_id_number": expert.id_number_enc is not None,
        "has_phone": expert.phone_enc is not None,
        "status": expert.status.value,
        "employment": len(expert.employments),
        "avoidances": len(expert.avoidances),
    }


def stored_input(expert: Expert, cipher: PiiCipher) -> dict[str, Any]:
    """The record as application input, for re-validation at submission."""
    pii = clear_pii(expert, cipher)
    return {
        "name": expert.name,
        **pii,
        "email": expert.email,
        "title": expert.title,
        "title_level": expert.title_level.value if expert.title_level else "",
        "years_experience": expert.years_experience if expert.years_experience is not None else "",
        "home_region": expert.home_region or "",
        "employer_code": expert.employer_code or "",
        "employer_name": expert.employer_name,
        "specialties": expert.specialty_codes,
        "consent": expert.has_consented,
    }


# Versions -------------------------------------------------------------------------------------


def snapshot(expert: Expert, cipher: PiiCipher) -> dict[str, Any]:
    """What a version keeps: the whole application with personal data masked."""
    data = view(expert, cipher, reveal=False)
    data.pop("version", None)
    data.pop("leave", None)
    return data


def versions(session: Session, expert_id: int) -> list[ApplicationVersion]:
    """Every submitted version of an application, oldest first."""
    return list(
        session.execute(
            select(ApplicationVersion)
            .where(ApplicationVersion.expert_id == expert_id)
            .order_by(ApplicationVersion.number)
        ).scalars()
    )


def version(session: Session, expert_id: int, number: int) -> dict[str, Any]:
    """One version's snapshot."""
    row = session.execute(
        select(ApplicationVersion).where(
            ApplicationVersion.expert_id == expert_id, ApplicationVersion.number == number
        )
    ).scalar_one_or_none()
    if row is None:
        raise NotFound()
    return {
        "number": row.number,
        "submitted_at": row.submitted_at.isoformat(),
        **json.loads(row.snapshot),
    }
