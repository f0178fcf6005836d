"""An organisation's contact recommends a person; the nominee consents through a one-time link.

The link goes to the nominee's mobile through the outbox like every SMS (the console provider's
simulation page shows it in development); only the SHA-256 of its token is stored. Consenting
creates the nominee's expert account and a draft application filled with what the organisation
gave (name, ID number, mobile, specialties, the organisation as employer), marked as recommended
for the reviewers. The nominee then completes and submits it like any applicant.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from expertpool.accounts.models import User
from expertpool.core import audit
from expertpool.core.errors import Forbidden, NotFound, ValidationFailed
from expertpool.core.pii import PiiCipher
from expertpool.core.texts import translated
from expertpool.experts import applications, entry, records
from expertpool.experts.identity import (
    InvalidIdentifier,
    check_id_number,
    check_mobile,
    mask_phone,
)
from expertpool.experts.models import Expert, ExpertSpecialty
from expertpool.notifications.context import NotifyContext
from expertpool.notifications.models import OutboxChannel, OutboxKind
from expertpool.notifications.outbox import queue_message
from expertpool.organisations.directory import organisation_of
from expertpool.organisations.models import Organisation
from expertpool.recommendations.models import Recommendation
from expertpool.reference.models import Specialty

TABLE = "recommendation"
LINK_PATH = "/r/"
LINK_DAYS = 14
MAX_SPECIALTIES = 5


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def consent_sms(org: str, link: str, days: int, language: str = "zh") -> str:
    """The SMS carrying the consent link."""
    if language == "en":
        return (
            f"[Expert pool] {org} recommends you as an evaluation expert. To agree and apply, "
            f"open {link} within {days} days. Ignore this message to decline."
        )
    return (
        f"【评标专家库】{org}推荐您申请入库评标专家。同意并填写申请请在{days}日内打开{link}，"
        "不同意请忽略本短信。"
    )


def _require_org(session: Session, actor: User) -> Organisation:
    org = organisation_of(session, actor)
    if org is None:
        raise Forbidden(str(translated("Only an organisation's contact recommends experts.")))
    return org


def _specialties(session: Session, text: str) -> tuple[list[str], str | None]:
    codes = sorted({c.strip().upper() for c in (text or "").replace(",", " ").split() if c})
    if not codes:
        return [], str(translated("Required."))
    if len(codes) > MAX_SPECIALTIES:
        return [], str(translated("At most %(n)d specialties.", n=MAX_SPECIALTIES))
    known = set(
        session.execute(
            select(Specialty.code).where(Specialty.code.in_(codes), Specialty.level >= 3)
        ).scalars()
    )
    unknown = [c for c in codes if c not in known]
    if unknown:
        return [], str(
            translated("Unknown specialty codes (level 3 or 4): %(codes)s", codes=" ".join(unknown))
        )
    return codes, None


def recommend(
    session: Session,
    ctx: NotifyContext,
    *,
    actor: User,
    name: str,
    id_number: str,
    phone: str,
    specialties: str,
    now: datetime,
    today: date,
    language: str = "zh",
) -> Recommendation:
    """Record a recommendation and queue the consent link to the nominee's mobile; commits."""
    org = _require_org(session, actor)
    fields: dict[str, str] = {}
    name = (name or "").strip()
    if not name:
        fields["name"] = str(translated("Required."))
    elif len(name) > 50:
        fields["name"] = str(translated("At most 50 characters."))
    id_value = phone_value = ""
    try:
        id_value, _birth = check_id_number(id_number, today)
    except InvalidIdentifier as exc:
        fields["id_number"] = str(exc)
    try:
        phone_value = check_mobile(phone)
    except InvalidIdentifier as exc:
        fields["phone"] = str(exc)
    codes, problem = _specialties(session, specialties)
    if problem:
        fields["specialties"] = problem
    if fields:
        raise ValidationFailed(fields=fields)
    token = secrets.token_urlsafe(24)
    rec = Recommendation(
        organisation_id=org.id,
        recommended_by=actor.username,
        name=name,
        specialties=" ".join(codes),
        token_hash=_hash(token),
        expires_at=now + timedelta(days=LINK_DAYS),
    )
    session.add(rec)
    session.flush()
    cipher = ctx.cipher
    rec.id_number_enc = cipher.encrypt(id_value, table=TABLE, row_id=rec.id, column="id_number")
    rec.phone_enc = cipher.encrypt(phone_value, table=TABLE, row_id=rec.id, column="phone")
    queue_message(
        session,
        ctx,
        key=f"recommendation:{rec.id}",
        channel=OutboxChannel.SMS,
        kind=OutboxKind.RECOMMENDATION_SMS,
        to=phone_value,
        body=consent_sms(org.name, ctx.url(LINK_PATH + token), LINK_DAYS, language),
        not_before=now,
    )
    audit.record(
        session,
        actor=actor.username,
        action="recommendation.create",
        object_type="recommendation",
        object_id=rec.id,
        after={"organisation": org.credit_code, "specialties": codes},
    )
    session.commit()
    return rec


@dataclass(frozen=True)
class RecommendationView:
    """A recommendation as its organisation's contacts see it (mobile masked)."""

    id: int
    name: str
    phone: str
    specialties: str
    created_at: datetime
    consented_at: datetime | None
    expert_id: int | None


def of_organisation(session: Session, cipher: PiiCipher, actor: User) -> list[RecommendationView]:
    """The recommendations of the contact's organisation, newest first."""
    org = _require_org(session, actor)
    rows = session.execute(
        select(Recommendation)
        .where(Recommendation.organisation_id == org.id)
        .order_by(Recommendation.id.desc())
    ).scalars()
    return [
        RecommendationView(
            id=r.id,
            name=r.name,
            phone=mask_phone(
                cipher.decrypt(r.phone_enc, table=TABLE, row_id=r.id, column="phone")
                if r.phone_enc
                else ""
            ),
            specialties=r.specialties,
            created_at=r.created_at,
            consented_at=r.consented_at,
            expert_id=r.expert_id,
        )
        for r in rows
    ]


def by_token(session: Session, token: str, *, now: datetime) -> Recommendation:
    """The recommendation a consent link names; NotFound when unknown, used or expired."""
    rec = session.execute(
        select(Recommendation).where(Recommendation.token_hash == _hash(token or ""))
    ).scalar_one_or_none()
    if rec is None or rec.consented_at is not None or rec.expires_at <= now:
        raise NotFound(code="recommendation_link_invalid")
    return rec


def consent(
    session: Session,
    ctx: NotifyContext,
    *,
    token: str,
    username: str,
    password: str,
    agrees: bool,
    now: datetime,
) -> Expert:
    """The nominee agrees: an expert account and a prefilled draft, marked recommended; the
    link is used up; commits."""
    rec = by_token(session, token, now=now)
    if not agrees:
        raise ValidationFailed(
            fields={"consent": str(translated("Tick the box to agree to the recommendation."))}
        )
    expert = applications.register_applicant(
        session, username=username, password=password, display_name=rec.name
    )
    rec = by_token(session, token, now=now)  # still unused after the account was made
    cipher = ctx.cipher
    expert.name = rec.name
    for column, enc in (("id_number", rec.id_number_enc), ("phone", rec.phone_enc)):
        if enc is not None:
            value = cipher.decrypt(enc, table=TABLE, row_id=rec.id, column=column)
            records.set_pii(expert, cipher, column, value)
    expert.specialties = [ExpertSpecialty(code=c) for c in rec.specialties.split()]
    expert.employer_code = rec.organisation.credit_code
    expert.employer_name = rec.organisation.name
    expert.has_consented = True
    expert.consented_at = now
    entry.state_of(session, expert).recommended_by = rec.organisation.name
    rec.consented_at = now
    rec.expert_id = expert.id
    user = session.get(User, expert.user_id)
    session.flush()
    audit.record(
        session,
        actor=user.username if user else "anonymous",
        action="recommendation.consent",
        object_type="recommendation",
        object_id=rec.id,
        after={"expert": expert.id},
    )
    session.commit()
    return expert
