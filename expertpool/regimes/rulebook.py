"""The rule table in the database: loading the bundled file, the version in force, `rules_for`,
and an administrator's change (a new version with an effective date, on the audit trail).

Every version is complete: a change copies the latest version's rows, replaces one value and is
in force from its effective date (China Standard Time) on. A project pins the version in force
when it is made ready, so a later change never moves a project already prepared.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from functools import cache
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from expertpool.accounts.models import User, UserRole
from expertpool.core import audit
from expertpool.core.calendar import cst_date
from expertpool.core.db import utcnow
from expertpool.core.errors import Forbidden, NotFound, ValidationFailed
from expertpool.core.texts import _l
from expertpool.regimes.models import (
    ANY,
    LegalRegime,
    ProcurementMethod,
    RuleStatus,
    RuleValue,
    RuleVersion,
)
from expertpool.regimes.rules import RULE_KEYS, RuleError, RuleSet, parse_value, resolve

DATA = Path(__file__).resolve().parent / "data"
BUNDLED = "rules-v1.json"


@cache
def bundled() -> dict[str, Any]:
    """The bundled rule file (version 1), parsed once."""
    data: dict[str, Any] = json.loads((DATA / BUNDLED).read_text(encoding="utf-8"))
    return data


def methods_of(regime: str) -> tuple[str, ...]:
    """The procurement methods a regime has."""
    return tuple(bundled()["methods"].get(regime, ()))


def method_allowed(regime: str, method: str) -> bool:
    """Whether `method` is one of `regime`'s methods."""
    return method in methods_of(regime)


def bundled_rows() -> list[dict[str, Any]]:
    """The rows of the bundled version (regime, method, key, value, source, status)."""
    return [dict(r) for r in bundled()["rules"]]


def ensure_loaded(session: Session, *, actor: str = "system") -> RuleVersion:
    """Load the bundled file as version 1 unless a version 1 exists (no commit)."""
    row = session.execute(select(RuleVersion).where(RuleVersion.number == 1)).scalar_one_or_none()
    if row is not None:
        return row
    data = bundled()
    row = RuleVersion(
        number=int(data["version"]),
        effective_on=date.fromisoformat(data["effective_on"]),
        origin=f"file:{BUNDLED}",
        note=str(data.get("note", "")),
        created_by=actor,
        values=[
            RuleValue(
                regime=r["regime"],
                method=r["method"],
                key=r["key"],
                value_json=json.dumps(r["value"], ensure_ascii=False),
                source=r["source"],
                status=r["status"],
            )
            for r in data["rules"]
        ],
    )
    session.add(row)
    session.flush()
    return row


def load_rules(session: Session, *, actor: str = "system") -> int:
    """Load the bundled rules when missing; commits. Returns the number of versions stored."""
    ensure_loaded(session, actor=actor)
    session.commit()
    return int(session.execute(select(func.count(RuleVersion.id))).scalar_one())


def versions(session: Session) -> list[RuleVersion]:
    """Every stored version, newest first."""
    return list(session.execute(select(RuleVersion).order_by(RuleVersion.number.desc())).scalars())


def version_in_force(session: Session, at: datetime | None = None) -> int:
    """The number of the version in force at `at` (now by default); 1 when none is stored."""
    day = cst_date(at or utcnow())
    number = session.execute(
        select(func.max(RuleVersion.number)).where(RuleVersion.effective_on <= day)
    ).scalar_one_or_none()
    return int(number) if number is not None else 1


def rows_of(session: Session, version: int) -> list[dict[str, Any]]:
    """The rows of a version as dicts; version 1 is the bundled file until it is stored."""
    stored = session.execute(
        select(RuleValue).join(RuleVersion).where(RuleVersion.number == version)
    ).scalars()
    rows = [
        {
            "regime": v.regime,
            "method": v.method,
            "key": v.key,
            "value": json.loads(v.value_json),
            "source": v.source,
            "status": v.status,
        }
        for v in stored
    ]
    if rows:
        return rows
    if version == 1:
        return bundled_rows()
    raise NotFound(str(_l("No such rule version.")))


def rules_for(
    session: Session,
    regime: str,
    method: str,
    *,
    at: datetime | None = None,
    version: int | None = None,
) -> RuleSet:
    """The rules of `regime` and `method`: of `version` when given (a project's pinned version),
    else of the version in force at `at` (now by default). Budget and complexity are applied by
    `RuleSet.committee_minimum`.
    """
    number = version if version is not None else version_in_force(session, at)
    return resolve(number, rows_of(session, number), regime, method)


def _latest(session: Session) -> RuleVersion:
    latest = session.execute(
        select(RuleVersion).order_by(RuleVersion.number.desc()).limit(1)
    ).scalar_one_or_none()
    return latest if latest is not None else ensure_loaded(session)


def change_rule(
    session: Session,
    *,
    actor: User,
    regime: str,
    method: str,
    key: str,
    value: str,
    effective_on: Any,
    source: str,
    status: str,
    note: str,
    now: datetime | None = None,
) -> RuleVersion:
    """An administrator changes one rule from a date on: a new complete version; commits.

    The date is today or later (China Standard Time) and not before the latest version's; every
    regime and method must still resolve with the new value.
    """
    if actor.role is not UserRole.ADMIN:
        raise Forbidden(str(_l("Only an administrator changes the rules.")))
    now = now or utcnow()
    ensure_loaded(session, actor=actor.username)
    latest = _latest(session)
    fields: dict[str, str] = {}
    if regime != ANY and regime not in {r.value for r in LegalRegime}:
        fields["regime"] = str(_l("Unknown legal regime."))
    if method != ANY and method not in {m.value for m in ProcurementMethod}:
        fields["method"] = str(_l("Unknown procurement method."))
    elif method != ANY and regime != ANY and not method_allowed(regime, method):
        fields["method"] = str(_l("This regime has no such procurement method."))
    parsed: Any = None
    if key not in RULE_KEYS:
        fields["key"] = str(_l("Unknown rule."))
    else:
        try:
            parsed = parse_value(key, value)
        except RuleError as exc:
            fields["value"] = str(exc)
    day: date | None = None
    try:
        day = date.fromisoformat(str(effective_on).strip())
    except ValueError:
        fields["effective_on"] = str(_l("A date, e.g. 2026-12-01."))
    else:
        if day < cst_date(now):
            fields["effective_on"] = str(_l("A change takes effect today or later."))
        elif day < latest.effective_on:
            fields["effective_on"] = str(
                _l("Not before the latest version (%(d)s).", d=latest.effective_on.isoformat())
            )
    clean_source = (source or "").strip()
    if not clean_source or len(clean_source) > 500:
        fields["source"] = str(_l("Cite the source: law, decree or notice and article."))
    if status not in {s.value for s in RuleStatus}:
        fields["status"] = str(_l("Unknown status."))
    clean_note = (note or "").strip()
    if len(clean_note) < 5 or len(clean_note) > 2000:
        fields["note"] = str(_l("Give the reason for the change (5 to 2000 characters)."))
    if fields or day is None:
        raise ValidationFailed(fields=fields)
    old = next(
        (v for v in latest.values if (v.regime, v.method, v.key) == (regime, method, key)),
        None,
    )
    rows = [
        {
            "regime": v.regime,
            "method": v.method,
            "key": v.key,
            "value": json.loads(v.value_json),
            "source": v.source,
            "status": v.status,
        }
        for v in latest.values
        if (v.regime, v.method, v.key) != (regime, method, key)
    ]
    rows.append(
        {
            "regime": regime,
            "method": method,
            "key": key,
            "value": parsed,
            "source": clean_source,
            "status": status,
        }
    )
    number = latest.number + 1
    try:
        for r in LegalRegime:
            for m in methods_of(r.value):
                resolve(number, rows, r.value, m)
    except RuleError as exc:
        raise ValidationFailed(fields={"value": str(exc)}) from None
    version = RuleVersion(
        number=number,
        effective_on=day,
        origin="admin",
        note=clean_note,
        created_by=actor.username,
        created_at=now,
        values=[
            RuleValue(
                regime=r["regime"],
                method=r["method"],
                key=r["key"],
                value_json=json.dumps(r["value"], ensure_ascii=False),
                source=r["source"],
                status=r["status"],
            )
            for r in rows
        ],
    )
    session.add(version)
    session.flush()
    audit.record(
        session,
        actor=actor.username,
        action="rules.change",
        object_type="rule_version",
        object_id=number,
        before={
            "version": latest.number,
            "regime": regime,
            "method": method,
            "key": key,
            "value": json.loads(old.value_json) if old else None,
        },
        after={
            "version": number,
            "regime": regime,
            "method": method,
            "key": key,
            "value": parsed,
            "effective_on": day.isoformat(),
            "source": clean_source,
            "status": status,
            "note": clean_note,
        },
    )
    session.commit()
    return version


def table(session: Session, version: int) -> list[dict[str, Any]]:
    """A version's rows for display, ordered by regime, method and rule."""
    order = {k: i for i, k in enumerate(RULE_KEYS)}
    return sorted(
        rows_of(session, version),
        key=lambda r: (r["regime"] != ANY, r["regime"], r["method"], order.get(r["key"], 99)),
    )
