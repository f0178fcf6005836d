"""Expert applications: registration, drafts, evidence, submission, views of a record.

Validation happens before any write, so a refused request leaves nothing partly saved.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import filetype
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from draw import cjson
from expertpool.accounts import users
from expertpool.accounts.models import User, UserRole
from expertpool.core import audit
from expertpool.core.config import Config
from expertpool.core.db import utcnow
from expertpool.core.errors import Conflict, Forbidden, NotFound, ValidationFailed
from expertpool.core.pii import PiiCipher
from expertpool.core.texts import _l
from expertpool.experts import identity, lifecycle
from expertpool.experts.identity import InvalidIdentifier
from expertpool.experts.models import (
    ApplicationVersion,
    AvoidanceKind,
    EvidenceFile,
    Expert,
    ExpertAvoidance,
    ExpertEmployment,
    ExpertSpecialty,
    ExpertStatus,
    TitleLevel,
)
from expertpool.reference.models import Region, Specialty

EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
SENIOR_LEVELS = (TitleLevel.FULL_SENIOR, TitleLevel.DEPUTY_SENIOR)
EVIDENCE_TYPES = {"application/pdf": ("pdf",), "image/jpeg": ("jpg", "jpeg"), "image/png": ("png",)}
SCALARS = ("name", "id_number", "phone", "email", "title", "title_level", "years_experience",
           "home_region", "employer_code", "employer_name")


# Input ---------------------------------------------------------------------------------------

@dataclass
class EmploymentRow:
    """One validated employment."""

    org_code: str
    org_name: str
    start_on: date
    end_on: date | None


@dataclass
class AvoidanceRow:
    """One validated avoidance declaration."""

    org_code: str
    org_name: str
    kind: AvoidanceKind


@dataclass
class Application:
    """Validated application fields; `None` means "not given" in a draft."""

    values: dict[str, Any] = field(default_factory=dict)
    birth_date: date | None = None
    specialties: list[str] | None = None
    employment: list[EmploymentRow] | None = None
    avoidances: list[AvoidanceRow] | None = None
    consent: bool | None = None


def _text(data: Mapping[str, Any], key: str) -> str:
    value = data.get(key)
    return str(value).strip() if value is not None else ""


def _org_row(row: Any, where: str, errors: dict[str, str], required: str) -> tuple[str, str] | None:
    """Check the organisation part of one listed row; returns (field prefix, credit code or "")."""
    if not isinstance(row, Mapping):
        errors[where] = str(_l("Expected an object."))
        return None
    prefix = where + "."
    try:
        code = identity.check_credit_code(_text(row, "org_code"))
    except InvalidIdentifier as exc:
        errors[prefix + "org_code"] = str(exc)
        code = ""
    if not _text(row, "org_name"):
        errors[prefix + "org_name"] = required
    return prefix, code


def _date(raw: Any) -> date | None:
    if raw in (None, ""):
        return None
    try:
        return date.fromisoformat(str(raw).strip())
    except ValueError:
        raise InvalidIdentifier(str(_l("Use a date like 2020-01-31."))) from None


@dataclass(frozen=True)
class Reference:
    """What validation needs from the database: specialty levels and region codes."""

    specialties: Mapping[str, tuple[int, bool]]  # code -> (level, retired)
    regions: frozenset[str]


def check_application(data: Mapping[str, Any], *, ref: Reference, config: Config, today: date,
                      complete: bool) -> Application:
    """Validate application input (pure); raises `ValidationFailed` listing every bad field.

    A draft (`complete=False`) checks only what is given; a submission requires every field.
    """
    errors: dict[str, str] = {}
    app = Application()
    required = str(_l("Required."))

    def given(key: str) -> bool:
        value = data.get(key)
        return value not in (None, "", [])

    for key in ("name", "email", "title", "employer_name"):
        if given(key):
            app.values[key] = _text(data, key)
        elif complete:
            errors[key] = required
    if "name" in app.values and len(app.values["name"]) > 50:
        errors["name"] = str(_l("At most 50 characters."))
    if "email" in app.values and not EMAIL_RE.match(app.values["email"]):
        errors["email"] = str(_l("Not an e-mail address."))
    if given("id_number"):
        try:
            number, birth = identity.check_id_number(_text(data, "id_number"), today)
        except InvalidIdentifier as exc:
            errors["id_number"] = str(exc)
        else:
            age = identity.age_on(birth, today)
            if age >= config.age_cap:
                errors["id_number"] = str(_l("Experts must be younger than %(n)d.", n=config.age_cap))
            elif age < 25:
                errors["id_number"] = str(_l("The age derived from the ID number is too young for an expert."))
            else:
                app.values["id_number"] = number
                app.birth_date = birth
    elif complete:
        errors["id_number"] = required
    if given("phone"):
        try:
            app.values["phone"] = identity.check_mobile(_text(data, "phone"))
        except InvalidIdentifier as exc:
            errors["phone"] = str(exc)
    elif complete:
        errors["phone"] = required
    if given("title_level"):
        try:
            level = TitleLevel(_text(data, "title_level"))
        except ValueError:
            errors["title_level"] = str(_l("Unknown title level."))
        else:
            if level not in SENIOR_LEVELS:
                errors["title_level"] = str(_l("A senior professional title is required."))
            else:
                app.values["title_level"] = level
    elif complete:
        errors["title_level"] = required
    if given("years_experience"):
        try:
            years = int(str(data.get("years_experience")).strip())
        except ValueError:
            errors["years_experience"] = str(_l("Give a whole number."))
        else:
            if years < config.min_years_experience:
                errors["years_experience"] = str(_l("At least %(n)d years are required.", n=config.min_years_experience))
            elif years > 60:
                errors["years_experience"] = str(_l("Give a whole number."))
            else:
                app.values["years_experience"] = years
    elif complete:
        errors["years_experience"] = required
    if given("home_region"):
        region = _text(data, "home_region")
        if region not in ref.regions:
            errors["home_region"] = str(_l("Unknown city."))
        else:
            app.values["home_region"] = region
    elif complete:
        errors["home_region"] = required
    if given("employer_code"):
        try:
            app.values["employer_code"] = identity.check_credit_code(_text(data, "employer_code"))
        except InvalidIdentifier as exc:
            errors["employer_code"] = str(exc)
    elif complete:
        errors["employer_code"] = required

    raw_specs = data.get("specialties")
    if raw_specs not in (None, "", []):
        codes = raw_specs.replace(",", " ").split() if isinstance(raw_specs, str) else [str(c) for c in raw_specs]
        codes = list(dict.fromkeys(c.strip().upper() for c in codes if c.strip()))
        problems = [c for c in codes if c not in ref.specialties or ref.specialties[c][1]]
        shallow = [c for c in codes if c in ref.specialties and ref.specialties[c][0] not in (3, 4)]
        if problems:
            errors["specialties"] = str(_l("Unknown specialty codes: %(codes)s", codes=", ".join(problems)))
        elif shallow:
            errors["specialties"] = str(_l("Choose level-3 or level-4 codes, not %(codes)s", codes=", ".join(shallow)))
        elif len(codes) > config.max_specialties:
            errors["specialties"] = str(_l("At most %(n)d specialties.", n=config.max_specialties))
        else:
            app.specialties = codes
    elif complete:
        errors["specialties"] = required

    if data.get("employment") is not None:
        rows = []
        for i, row in enumerate(data.get("employment") or []):
            org = _org_row(row, f"employment.{i}", errors, required)
            if org is None:
                continue
            prefix, code = org
            try:
                start, end = _date(row.get("start_on")), _date(row.get("end_on"))
            except InvalidIdentifier as exc:
                errors[prefix + "start_on"] = str(exc)
                continue
            if start is None:
                errors[prefix + "start_on"] = required
            elif start > today:
                errors[prefix + "start_on"] = str(_l("The start lies in the future."))
            elif end is not None and end < start:
                errors[prefix + "end_on"] = str(_l("The end lies before the start."))
            else:
                rows.append(EmploymentRow(code, _text(row, "org_name"), start, end))
        app.employment = rows
    if data.get("avoidances") is not None:
        avoid = []
        for i, row in enumerate(data.get("avoidances") or []):
            org = _org_row(row, f"avoidances.{i}", errors, required)
            if org is None:
                continue
            prefix, code = org
            try:
                kind = AvoidanceKind(_text(row, "kind") or "declared")
            except ValueError:
                errors[prefix + "kind"] = str(_l("Unknown kind."))
                continue
            avoid.append(AvoidanceRow(code, _text(row, "org_name"), kind))
        app.avoidances = avoid
    if "consent" in data:
        app.consent = data.get("consent") in (True, "on", "true", "1", 1, "yes")
    if complete and not app.consent:
        errors["consent"] = str(_l("Consent to the processing of your data is required."))
    if errors:
        raise ValidationFailed(fields=errors)
    return app


def load_reference(session: Session, codes: list[str] | None = None) -> Reference:
    """Specialty levels (of the given codes, or all) and the selectable cities."""
    stmt = select(Specialty.code, Specialty.level, Specialty.is_retired)
    if codes is not None:
        stmt = stmt.where(Specialty.code.in_(codes or [""]))
    specs = {c: (lvl, bool(r)) for c, lvl, r in session.execute(stmt)}
    regions = frozenset(session.execute(select(Region.code).where(Region.level >= 2)).scalars())
    return Reference(specs, regions)


def _codes_in(data: Mapping[str, Any]) -> list[str]:
    raw = data.get("specialties")
    if isinstance(raw, str):
        return [c.strip().upper() for c in raw.replace(",", " ").split()]
    if isinstance(raw, list):
        return [str(c).strip().upper() for c in raw]
    return []


# Transactions --------------------------------------------------------------------------------

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


def ensure_record(session: Session, user: User) -> Expert:
    """The user's record, creating an empty draft for an expert account without one; commits."""
    expert = record_of(session, user)
    if expert is not None:
        return expert
    if user.role is not UserRole.EXPERT:
        raise Forbidden()
    expert = Expert(user_id=user.id, name=user.display_name, status=ExpertStatus.DRAFT)
    session.add(expert)
    session.flush()
    audit.record(session, actor=user.username, action="expert.create", object_type="expert", object_id=expert.id,
                 after={"status": expert.status.value, "user": user.username})
    session.commit()
    return expert


def register_applicant(session: Session, *, username: str, password: str, display_name: str) -> Expert:
    """A visitor creates an expert account and an empty draft application."""
    user = users.create_user(session, actor=username or "anonymous", username=username,
                             display_name=display_name, password=password, role=UserRole.EXPERT.value)
    return ensure_record(session, user)


# Personal data -------------------------------------------------------------------------------

def clear_pii(expert: Expert, cipher: PiiCipher) -> dict[str, str]:
    """The decrypted ID number and phone (empty when not given)."""
    out = {}
    for column, blob in (("id_number", expert.id_number_enc), ("phone", expert.phone_enc)):
        out[column] = cipher.decrypt(blob, table="expert", row_id=expert.id, column=column) if blob else ""
    return out


def _set_pii(expert: Expert, cipher: PiiCipher, column: str, value: str) -> None:
    setattr(expert, f"{column}_enc", cipher.encrypt(value, table="expert", row_id=expert.id, column=column))
    setattr(expert, f"{column}_bidx", cipher.blind_index(value, column))


def find_by_id_number(session: Session, cipher: PiiCipher, id_number: str) -> Expert | None:
    """Look an expert up by national ID number through the blind index."""
    value = id_number.strip().upper()
    return session.execute(select(Expert).where(
        Expert.id_number_bidx == cipher.blind_index(value, "id_number"))).scalar_one_or_none()


def find_by_phone(session: Session, cipher: PiiCipher, phone: str) -> list[Expert]:
    """Experts with this mobile number (E.164 or national form)."""
    try:
        value = identity.check_mobile(phone)
    except InvalidIdentifier:
        return []
    return list(session.execute(select(Expert).where(
        Expert.phone_bidx == cipher.blind_index(value, "phone"))).scalars())


def view(expert: Expert, cipher: PiiCipher, *, reveal: bool = False) -> dict[str, Any]:
    """A JSON-ready view of a record; personal data masked unless `reveal`."""
    pii = clear_pii(expert, cipher)
    if not reveal:
        pii = {"id_number": identity.mask_id_number(pii["id_number"]) if pii["id_number"] else "",
               "phone": identity.mask_phone(pii["phone"]) if pii["phone"] else ""}
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
        "employment": [{"org_code": e.org_code, "org_name": e.org_name, "start_on": e.start_on.isoformat(),
                        "end_on": e.end_on.isoformat() if e.end_on else None} for e in expert.employments],
        "avoidances": [{"org_code": a.org_code, "org_name": a.org_name, "kind": a.kind.value}
                       for a in expert.avoidances],
        "evidence": [{"id": f.id, "name": f.original_name, "mime": f.mime, "size": f.size, "sha256": f.sha256}
                     for f in expert.evidence],
        "leave": [{"id": lv.id, "start_on": lv.start_on.isoformat(), "end_on": lv.end_on.isoformat(),
                   "reason": lv.reason} for lv in expert.leaves],
        "status": expert.status.value,
        "suspended_until": expert.suspended_until.isoformat() if expert.suspended_until else None,
        "consent": expert.has_consented,
        "version": expert.version,
    }


def _summary(expert: Expert) -> dict[str, Any]:
    """Audit view: no personal data, only whether it is present."""
    return {"name": expert.name, "email": expert.email, "title": expert.title,
            "title_level": expert.title_level.value if expert.title_level else None,
            "years_experience": expert.years_experience, "home_region": expert.home_region,
            "employer_code": expert.employer_code, "employer_name": expert.employer_name,
            "specialties": expert.specialty_codes, "has_id_number": expert.id_number_enc is not None,
            "has_phone": expert.phone_enc is not None, "status": expert.status.value,
            "employment": len(expert.employments), "avoidances": len(expert.avoidances)}


# Drafts and submission -----------------------------------------------------------------------

def _check_editable(expert: Expert, actor: User) -> None:
    if expert.user_id != actor.id:
        raise Forbidden()
    if not expert.is_editable:
        raise lifecycle.illegal(expert.status, "edit")


def save_draft(session: Session, *, cipher: PiiCipher, config: Config, actor: User, expert_id: int,
               data: Mapping[str, Any], today: date | None = None, expected_version: int | None = None) -> Expert:
    """Validate and store the given fields of a draft or returned application; commits."""
    today = today or utcnow().date()
    expert = get_expert(session, expert_id)
    _check_editable(expert, actor)
    if expected_version is not None and expected_version != expert.version:
        raise Conflict()
    app = check_application(data, ref=load_reference(session, _codes_in(data)), config=config, today=today,
                            complete=False)
    if "id_number" in app.values:
        other = find_by_id_number(session, cipher, app.values["id_number"])
        if other is not None and other.id != expert.id:
            raise ValidationFailed(fields={"id_number": str(_l("This ID number is already in the pool."))})
    before = _summary(expert)
    with guarded(session):
        _apply(expert, app, cipher)
        try:
            session.flush()
        except IntegrityError:
            session.rollback()
            raise ValidationFailed(fields={"id_number": str(_l("This ID number is already in the pool."))}) from None
        b, a = audit.diff(before, _summary(expert))
        audit.record(session, actor=actor.username, action="expert.save_draft", object_type="expert",
                     object_id=expert.id, before=b, after=a)
        session.commit()
    return expert


def _apply(expert: Expert, app: Application, cipher: PiiCipher) -> None:
    for key, value in app.values.items():
        if key in ("id_number", "phone"):
            _set_pii(expert, cipher, key, value)
        else:
            setattr(expert, key, value)
    if app.birth_date is not None:
        expert.birth_date = app.birth_date
    if app.specialties is not None:
        keep = {s.code: s for s in expert.specialties}
        expert.specialties = [keep.get(c) or ExpertSpecialty(code=c) for c in sorted(app.specialties)]
    if app.employment is not None:
        expert.employments = [ExpertEmployment(org_code=r.org_code, org_name=r.org_name, start_on=r.start_on,
                                               end_on=r.end_on) for r in app.employment]
    if app.avoidances is not None:
        expert.avoidances = [ExpertAvoidance(org_code=r.org_code, org_name=r.org_name, kind=r.kind)
                             for r in app.avoidances]
    if app.consent is not None:
        if app.consent and not expert.has_consented:
            expert.consented_at = utcnow()
        expert.has_consented = app.consent


def stored_input(expert: Expert, cipher: PiiCipher) -> dict[str, Any]:
    """The record as application input, for re-validation at submission."""
    pii = clear_pii(expert, cipher)
    return {
        "name": expert.name, **pii, "email": expert.email, "title": expert.title,
        "title_level": expert.title_level.value if expert.title_level else "",
        "years_experience": expert.years_experience if expert.years_experience is not None else "",
        "home_region": expert.home_region or "", "employer_code": expert.employer_code or "",
        "employer_name": expert.employer_name, "specialties": expert.specialty_codes,
        "consent": expert.has_consented,
    }


def snapshot(expert: Expert, cipher: PiiCipher) -> dict[str, Any]:
    """What a version keeps: the whole application with personal data masked."""
    data = view(expert, cipher, reveal=False)
    data.pop("version", None)
    data.pop("leave", None)
    return data


def submit(session: Session, *, cipher: PiiCipher, config: Config, actor: User, expert_id: int,
           today: date | None = None, expected_version: int | None = None) -> Expert:
    """Submit a complete draft or returned application for review, keeping a version; commits."""
    today = today or utcnow().date()
    expert = get_expert(session, expert_id)
    if expert.user_id != actor.id:
        raise Forbidden()
    lifecycle.check(expert.status, ExpertStatus.SUBMITTED)
    if expected_version is not None and expected_version != expert.version:
        raise Conflict()
    data = stored_input(expert, cipher)
    fields: dict[str, str] = {}
    try:
        check_application(data, ref=load_reference(session, expert.specialty_codes), config=config, today=today,
                          complete=True)
    except ValidationFailed as exc:
        fields.update(exc.fields)
    if not expert.evidence:
        fields["evidence"] = str(_l("Attach at least one evidence file."))
    if fields:
        raise ValidationFailed(fields=fields)
    number = 1 + len(list(session.execute(
        select(ApplicationVersion.id).where(ApplicationVersion.expert_id == expert.id)).scalars()))
    with guarded(session):
        before = expert.status
        expert.status = ExpertStatus.SUBMITTED
        expert.submitted_at = utcnow()
        session.flush()
        kept = cjson.dumps(snapshot(expert, cipher)).decode("utf-8")
        session.add(ApplicationVersion(expert_id=expert.id, number=number, snapshot=kept))
        audit.record(session, actor=actor.username, action="expert.submit", object_type="expert",
                     object_id=expert.id, before={"status": before.value},
                     after={"status": expert.status.value, "application_number": number})
        try:
            session.commit()
        except IntegrityError:
            session.rollback()
            raise Conflict() from None
    return expert


def versions(session: Session, expert_id: int) -> list[ApplicationVersion]:
    """Every submitted version of an application, oldest first."""
    return list(session.execute(select(ApplicationVersion).where(ApplicationVersion.expert_id == expert_id)
                                .order_by(ApplicationVersion.number)).scalars())


def version(session: Session, expert_id: int, number: int) -> dict[str, Any]:
    """One version's snapshot."""
    row = session.execute(select(ApplicationVersion).where(
        ApplicationVersion.expert_id == expert_id, ApplicationVersion.number == number)).scalar_one_or_none()
    if row is None:
        raise NotFound()
    return {"number": row.number, "submitted_at": row.submitted_at.isoformat(), **json.loads(row.snapshot)}


# Evidence ------------------------------------------------------------------------------------

def sniff_evidence(filename: str, data: bytes, max_bytes: int) -> str:
    """The MIME type of an acceptable evidence file, sniffed from its content; raises otherwise."""
    if not data:
        raise ValidationFailed(fields={"evidence": str(_l("The file is empty."))})
    if len(data) > max_bytes:
        raise ValidationFailed(fields={"evidence": str(_l("The file is larger than %(n)d MB.", n=max_bytes // (1024 * 1024)))})
    kind = filetype.guess(data)
    mime = kind.mime if kind else ""
    if mime not in EVIDENCE_TYPES:
        raise ValidationFailed(fields={"evidence": str(_l("Only PDF, JPEG and PNG files are accepted."))})
    ext = Path(filename or "").suffix.lower().lstrip(".")
    if ext and ext not in EVIDENCE_TYPES[mime]:
        raise ValidationFailed(fields={"evidence": str(_l("The file's content does not match its name."))})
    return mime


def add_evidence(session: Session, *, config: Config, actor: User, expert_id: int, filename: str,
                 data: bytes) -> EvidenceFile:
    """Store an evidence file outside the database under its SHA-256 and attach it; commits."""
    expert = get_expert(session, expert_id)
    _check_editable(expert, actor)
    mime = sniff_evidence(filename, data, config.evidence_max_bytes)
    digest = hashlib.sha256(data).hexdigest()
    folder = config.evidence_path
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / digest
    if not target.exists():
        tmp = folder / f".{digest}.{os.getpid()}.tmp"
        tmp.write_bytes(data)
        os.replace(tmp, target)
    name = Path(filename or "evidence").name[:255]
    row = EvidenceFile(sha256=digest, original_name=name, mime=mime, size=len(data))
    expert.evidence.append(row)
    session.flush()
    audit.record(session, actor=actor.username, action="expert.evidence", object_type="expert", object_id=expert.id,
                 after={"sha256": digest, "name": name, "mime": mime, "size": len(data)})
    session.commit()
    return row


def evidence_path(config: Config, row: EvidenceFile) -> Path:
    """Where an evidence file's bytes are kept."""
    return config.evidence_path / row.sha256


def remove_evidence(session: Session, *, actor: User, evidence_id: int) -> None:
    """Detach an evidence file from a draft (the bytes stay: other versions may cite them); commits."""
    row = session.get(EvidenceFile, evidence_id)
    if row is None:
        raise NotFound()
    expert = get_expert(session, row.expert_id)
    _check_editable(expert, actor)
    audit.record(session, actor=actor.username, action="expert.evidence_remove", object_type="expert",
                 object_id=row.expert_id, before={"sha256": row.sha256, "name": row.original_name})
    expert.evidence.remove(row)
    session.commit()
