"""Fee schedules and the tax rule in the database: the bundled file, the version in force on a
day, and an administrator's change (a new version from a date on, on the audit trail).

A city centre's schedule applies to sessions hosted there; where a city has none, the
province's (`440000`) applies. Each version is a whole document (the schedule or the tax rule),
checked by the same parser as the bundled file.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from expertpool.accounts.models import Centre, User, UserRole
from expertpool.core import audit
from expertpool.core.calendar import cst_date
from expertpool.core.db import utcnow
from expertpool.core.errors import Forbidden, ValidationFailed
from expertpool.core.texts import _l
from expertpool.fees.models import FeeRuleVersion, RuleKind
from expertpool.fees.schedule import Schedule, ScheduleError, parse_schedule
from expertpool.fees.tax import TaxRule, TaxRuleError, parse_tax_rule

DATA = Path(__file__).resolve().parent / "data"
BUNDLED = "fees-v1.json"
PROVINCE = "440000"
"""The province's scope: its schedule applies wherever a city has none."""


@cache
def bundled() -> dict[str, Any]:
    """The bundled fee file, parsed once."""
    data: dict[str, Any] = json.loads((DATA / BUNDLED).read_text(encoding="utf-8"))
    return data


@dataclass(frozen=True)
class InForce:
    """A rule version in force: its number, effective date and parsed content."""

    number: int
    effective_on: date
    data: dict[str, Any]


def ensure_loaded(session: Session, *, actor: str = "system") -> None:
    """Store the bundled schedules and tax rule as version 1 where missing (no commit)."""
    data = bundled()
    effective = date.fromisoformat(data["effective_on"])
    wanted = [(RuleKind.TAX, "", data["tax"])]
    wanted += [(RuleKind.SCHEDULE, s["scope"], s) for s in data["schedules"]]
    for kind, scope, doc in wanted:
        exists = session.execute(
            select(FeeRuleVersion.id).where(
                FeeRuleVersion.kind == kind, FeeRuleVersion.scope == scope
            )
        ).first()
        if exists is None:
            session.add(
                FeeRuleVersion(
                    kind=kind,
                    scope=scope,
                    number=int(data["version"]),
                    effective_on=effective,
                    data_json=json.dumps(doc, ensure_ascii=False),
                    origin=f"file:{BUNDLED}",
                    note=str(data.get("note", "")),
                    created_by=actor,
                )
            )
    session.flush()


def _in_force(session: Session, kind: RuleKind, scope: str, day: date) -> InForce | None:
    row = session.execute(
        select(FeeRuleVersion)
        .where(
            FeeRuleVersion.kind == kind,
            FeeRuleVersion.scope == scope,
            FeeRuleVersion.effective_on <= day,
        )
        .order_by(FeeRuleVersion.number.desc())
        .limit(1)
    ).scalar_one_or_none()
    if row is None:
        return None
    return InForce(row.number, row.effective_on, json.loads(row.data_json))


def schedule_for(session: Session, region: str | None, day: date) -> tuple[Schedule, int]:
    """The schedule in force on `day` for a centre's region (the province's where the city has
    none), with its version number."""
    ensure_loaded(session)
    found = _in_force(session, RuleKind.SCHEDULE, region, day) if region else None
    found = found or _in_force(session, RuleKind.SCHEDULE, PROVINCE, day)
    if found is None:
        raise ValidationFailed(str(_l("No fee schedule is in force on that day.")))
    return parse_schedule(found.data), found.number


def tax_rule_for(session: Session, day: date) -> tuple[TaxRule, int]:
    """The withholding rule in force on `day`, with its version number."""
    ensure_loaded(session)
    found = _in_force(session, RuleKind.TAX, "", day)
    if found is None:
        raise ValidationFailed(str(_l("No tax rule is in force on that day.")))
    return parse_tax_rule(found.data), found.number


def published(session: Session, day: date) -> list[tuple[Schedule, InForce]]:
    """Every scope's schedule in force on `day` (the province first), for the public page."""
    ensure_loaded(session)
    scopes = sorted(
        set(
            session.execute(
                select(FeeRuleVersion.scope).where(FeeRuleVersion.kind == RuleKind.SCHEDULE)
            ).scalars()
        ),
        key=lambda s: (s != PROVINCE, s),
    )
    out = []
    for scope in scopes:
        found = _in_force(session, RuleKind.SCHEDULE, scope, day)
        if found is not None:
            out.append((parse_schedule(found.data), found))
    return out


def latest_document(session: Session, kind: str, scope: str) -> str:
    """The latest version's document of a scope's schedule (the province's when the scope has
    none) or of the tax rule, as indented JSON to start a change from."""
    ensure_loaded(session)
    rule_kind = RuleKind.TAX if kind == RuleKind.TAX else RuleKind.SCHEDULE
    scope = "" if rule_kind is RuleKind.TAX else scope
    found = _in_force(session, rule_kind, scope, date.max)
    if found is None and rule_kind is RuleKind.SCHEDULE:
        found = _in_force(session, rule_kind, PROVINCE, date.max)
    return json.dumps(found.data, ensure_ascii=False, indent=2) if found else ""


def history(session: Session) -> list[FeeRuleVersion]:
    """Every stored version, newest first."""
    return list(
        session.execute(
            select(FeeRuleVersion).order_by(
                FeeRuleVersion.effective_on.desc(), FeeRuleVersion.id.desc()
            )
        ).scalars()
    )


def change(
    session: Session,
    *,
    actor: User,
    kind: str,
    scope: str,
    document: str,
    effective_on: str,
    note: str,
    now: datetime | None = None,
) -> FeeRuleVersion:
    """An administrator stores a new version of a schedule (or the tax rule) from a date on;
    audited; commits."""
    if actor.role is not UserRole.ADMIN:
        raise Forbidden(str(_l("Only an administrator changes the fee schedules.")))
    now = now or utcnow()
    ensure_loaded(session)
    fields: dict[str, str] = {}
    parsed: dict[str, Any] | None = None
    if kind not in {k.value for k in RuleKind}:
        fields["kind"] = str(_l("Choose a schedule or the tax rule."))
    try:
        loaded = json.loads(document)
        if not isinstance(loaded, dict):
            raise ValueError
        parsed = loaded
    except ValueError:
        fields["document"] = str(_l("Write the schedule as a JSON object."))
    scope = "" if kind == RuleKind.TAX else (scope or "").strip()
    if kind == RuleKind.SCHEDULE and scope != PROVINCE:
        centre = session.execute(
            select(Centre.id).where(Centre.region_code == scope)
        ).scalar_one_or_none()
        if centre is None:
            fields["scope"] = str(_l("The region code of a trading centre, or 440000."))
    if kind == RuleKind.SCHEDULE and parsed is not None:
        parsed["scope"] = scope
        try:
            parse_schedule(parsed)
        except ScheduleError as exc:
            fields["document"] = str(exc)
    elif kind == RuleKind.TAX and parsed is not None:
        try:
            parse_tax_rule(parsed)
        except TaxRuleError as exc:
            fields["document"] = str(exc)
    day: date | None = None
    try:
        day = date.fromisoformat((effective_on or "").strip())
    except ValueError:
        fields["effective_on"] = str(_l("A date, e.g. 2026-12-01."))
    else:
        if day < cst_date(now):
            fields["effective_on"] = str(_l("A change takes effect today or later."))
    clean_note = (note or "").strip()
    if len(clean_note) < 5 or len(clean_note) > 2000:
        fields["note"] = str(_l("Give the reason for the change (5 to 2000 characters)."))
    if fields or day is None or parsed is None:
        raise ValidationFailed(fields=fields)
    rule_kind = RuleKind(kind)
    number = int(
        session.execute(
            select(func.coalesce(func.max(FeeRuleVersion.number), 0)).where(
                FeeRuleVersion.kind == rule_kind, FeeRuleVersion.scope == scope
            )
        ).scalar_one()
    )
    latest = _in_force(session, rule_kind, scope, date.max)
    if latest is not None and day < latest.effective_on:
        raise ValidationFailed(
            fields={
                "effective_on": str(
                    _l(
                        "Not before the latest version (%(d)s).",
                        d=latest.effective_on.isoformat(),
                    )
                )
            }
        )
    row = FeeRuleVersion(
        kind=rule_kind,
        scope=scope,
        number=number + 1,
        effective_on=day,
        data_json=json.dumps(parsed, ensure_ascii=False),
        origin="admin",
        note=clean_note,
        created_by=actor.username,
        created_at=now,
    )
    session.add(row)
    session.flush()
    audit.record(
        session,
        actor=actor.username,
        action="fees.rule_change",
        object_type="fee_rule_version",
        object_id=f"{kind}:{scope}:{number + 1}",
        before={"version": number, "data": latest.data if latest else None},
        after={
            "version": number + 1,
            "effective_on": day.isoformat(),
            "data": parsed,
            "note": clean_note,
        },
    )
    session.commit()
    return row
