"""The expert application form: its fields described once, as a table, and the checks it drives.

`FIELDS` lists every field in the order it is checked: when it counts as given, how it is read,
the rules the value must keep, the messages shown, whether a submission requires it. Checking is
pure: the reference data it needs (`Reference`) is loaded beforehand by `load_reference`.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from flask_babel.speaklater import LazyString
from sqlalchemy import select
from sqlalchemy.orm import Session

from expertpool.core.config import Config
from expertpool.core.errors import ValidationFailed
from expertpool.core.texts import _l
from expertpool.experts import identity
from expertpool.experts.identity import InvalidIdentifier
from expertpool.experts.models import AvoidanceKind, TitleLevel
from expertpool.reference.models import Region, Specialty

EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
SENIOR_LEVELS = (TitleLevel.FULL_SENIOR, TitleLevel.DEPUTY_SENIOR, TitleLevel.EQUIVALENT)
SPECIALTY_LEVELS = (3, 4)
YES = (True, "on", "true", "1", 1, "yes")
"""Values of `consent` that mean agreement (a ticked box, a JSON true, ...)."""

REQUIRED = _l("Required.")
NO_CONSENT = _l("Consent to the processing of your data is required.")


# What checking produces -----------------------------------------------------------------------


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


# What checking needs --------------------------------------------------------------------------


@dataclass(frozen=True)
class Reference:
    """What validation needs from the database: specialty levels and region codes."""

    specialties: Mapping[str, tuple[int, bool]]  # code -> (level, retired)
    regions: frozenset[str]


def load_reference(session: Session, codes: list[str] | None = None) -> Reference:
    """Specialty levels (of the given codes, or all) and the selectable cities."""
    stmt = select(Specialty.code, Specialty.level, Specialty.is_retired)
    if codes is not None:
        stmt = stmt.where(Specialty.code.in_(codes or [""]))
    specs = {c: (lvl, bool(r)) for c, lvl, r in session.execute(stmt)}
    regions = frozenset(session.execute(select(Region.code).where(Region.level >= 2)).scalars())
    return Reference(specs, regions)


def codes_in(data: Mapping[str, Any]) -> list[str]:
    """The specialty codes named in application input, for `load_reference`."""
    raw = data.get("specialties")
    if isinstance(raw, str):
        return [c.strip().upper() for c in raw.replace(",", " ").split()]
    if isinstance(raw, list):
        return [str(c).strip().upper() for c in raw]
    return []


@dataclass(frozen=True)
class Context:
    """What reading and checking a field may use besides its value."""

    ref: Reference
    config: Config
    today: date
    complete: bool  # a submission, not a draft

    def bound(self, limit: int | str) -> int:
        """A limit's number: itself, or the configuration setting it names."""
        if isinstance(limit, int):
            return limit
        value: int = getattr(self.config, limit)
        return value


class Refused(Exception):
    """A value was refused: messages by sub-key of the field ("" for the field itself)."""

    def __init__(self, message: str = "", *, fields: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.fields = fields if fields is not None else {"": message}


def _say(message: LazyString, values: Mapping[str, object]) -> str:
    """A table message in the request's language, its placeholders filled."""
    text = str(message)
    return text % values if values else text


# Rules a read value must keep -----------------------------------------------------------------

Measure = Callable[[Any, Context], int]
Broken = Callable[[Any, Context], Mapping[str, object] | None]

LIMIT_OPS: dict[str, Callable[[int, int], bool]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">=": operator.ge,
}


def _itself(value: Any, ctx: Context) -> int:
    return int(value)


def _length(value: Any, ctx: Context) -> int:
    return len(value)


def _age(id_number: str, ctx: Context) -> int:
    return identity.age_on(identity.birth_date_of(id_number), ctx.today)


@dataclass(frozen=True)
class Limit:
    """`measure(value) op bound` must hold; a bound named after a setting is shown as `%(n)d`."""

    op: str
    bound: int | str  # a number, or the name of a `Config` setting
    message: LazyString
    measure: Measure = _itself

    def broken(self, value: Any, ctx: Context) -> Mapping[str, object] | None:
        """None when kept, else the message's values."""
        n = ctx.bound(self.bound)
        if LIMIT_OPS[self.op](self.measure(value, ctx), n):
            return None
        return {"n": n} if isinstance(self.bound, str) else {}


@dataclass(frozen=True)
class OneOf:
    """The value must be one of the choices the context offers."""

    choices: Callable[[Context], Collection[Any]]
    message: LazyString

    def broken(self, value: Any, ctx: Context) -> Mapping[str, object] | None:
        """None when kept, else the message's values (none)."""
        return None if value in self.choices(ctx) else {}


@dataclass(frozen=True)
class Matches:
    """The value must match a pattern."""

    pattern: re.Pattern[str]
    message: LazyString

    def broken(self, value: Any, ctx: Context) -> Mapping[str, object] | None:
        """None when kept, else the message's values (none)."""
        return None if self.pattern.match(value) else {}


@dataclass(frozen=True)
class Rule:
    """Any other condition: `test` returns None when kept, else the message's values."""

    test: Broken
    message: LazyString

    def broken(self, value: Any, ctx: Context) -> Mapping[str, object] | None:
        """None when kept, else the message's values."""
        return self.test(value, ctx)


Check = Limit | OneOf | Matches | Rule


# Readers: raw input to a value (a ValueError shows the field's `invalid` message) -------------


def _text(raw: Any) -> str:
    return str(raw).strip() if raw is not None else ""


def read_text(raw: Any, ctx: Context) -> str:
    """Text with surrounding blanks removed."""
    return _text(raw)


def read_id_number(raw: Any, ctx: Context) -> str:
    """A checked national ID number (its birth date must lie in the past)."""
    return identity.check_id_number(_text(raw), ctx.today)[0]


def read_mobile(raw: Any, ctx: Context) -> str:
    """A mainland mobile number in E.164."""
    return identity.check_mobile(_text(raw))


def read_credit_code(raw: Any, ctx: Context) -> str:
    """A checked unified social credit code."""
    return identity.check_credit_code(_text(raw))


def read_title_level(raw: Any, ctx: Context) -> TitleLevel:
    """A title level by its value."""
    return TitleLevel(_text(raw))


def read_whole_number(raw: Any, ctx: Context) -> int:
    """A whole number written in decimal."""
    return int(_text(raw))


def read_specialty_codes(raw: Any, ctx: Context) -> list[str]:
    """Specialty codes from text (spaces or commas between) or a list; upper case, no repeats."""
    codes = raw.replace(",", " ").split() if isinstance(raw, str) else [str(c) for c in raw]
    return list(dict.fromkeys(c.strip().upper() for c in codes if c.strip()))


def read_consent(raw: Any, ctx: Context) -> bool:
    """Whether the applicant agreed."""
    return raw in YES


def _org(row: Any, where: str, errors: dict[str, str]) -> str | None:
    """Check the organisation of one listed row: its credit code ("" when refused), or None."""
    if not isinstance(row, Mapping):
        errors[where] = str(_l("Expected an object."))
        return None
    try:
        code = identity.check_credit_code(_text(row.get("org_code")))
    except InvalidIdentifier as exc:
        errors[f"{where}.org_code"] = str(exc)
        code = ""
    if not _text(row.get("org_name")):
        errors[f"{where}.org_name"] = str(REQUIRED)
    return code


def _day(raw: Any) -> date | None:
    if raw in (None, ""):
        return None
    try:
        return date.fromisoformat(str(raw).strip())
    except ValueError:
        raise Refused(str(_l("Use a date like 2020-01-31."))) from None


def read_employment(raw: Any, ctx: Context) -> list[EmploymentRow]:
    """Employment rows; each problem is refused under `<row>.<column>`."""
    errors: dict[str, str] = {}
    rows = []
    for i, row in enumerate(raw or []):
        code = _org(row, str(i), errors)
        if code is None:
            continue
        try:
            start, end = _day(row.get("start_on")), _day(row.get("end_on"))
        except Refused as exc:
            errors[f"{i}.start_on"] = str(exc)
            continue
        if start is None:
            errors[f"{i}.start_on"] = str(REQUIRED)
        elif start > ctx.today:
            errors[f"{i}.start_on"] = str(_l("The start lies in the future."))
        elif end is not None and end < start:
            errors[f"{i}.end_on"] = str(_l("The end lies before the start."))
        else:
            rows.append(EmploymentRow(code, _text(row.get("org_name")), start, end))
    if errors:
        raise Refused(fields=errors)
    return rows


def read_avoidances(raw: Any, ctx: Context) -> list[AvoidanceRow]:
    """Avoidance declarations (kind "declared" unless given); refused under `<row>.<column>`."""
    errors: dict[str, str] = {}
    rows = []
    for i, row in enumerate(raw or []):
        code = _org(row, str(i), errors)
        if code is None:
            continue
        try:
            kind = AvoidanceKind(_text(row.get("kind")) or "declared")
        except ValueError:
            errors[f"{i}.kind"] = str(_l("Unknown kind."))
            continue
        rows.append(AvoidanceRow(code, _text(row.get("org_name")), kind))
    if errors:
        raise Refused(fields=errors)
    return rows


def _unknown_codes(codes: list[str], ctx: Context) -> Mapping[str, object] | None:
    bad = [c for c in codes if c not in ctx.ref.specialties or ctx.ref.specialties[c][1]]
    return {"codes": ", ".join(bad)} if bad else None


def _shallow_codes(codes: list[str], ctx: Context) -> Mapping[str, object] | None:
    bad = [
        c
        for c in codes
        if c in ctx.ref.specialties and ctx.ref.specialties[c][0] not in SPECIALTY_LEVELS
    ]
    return {"codes": ", ".join(bad)} if bad else None


def _agreed_if_submitted(agreed: bool, ctx: Context) -> Mapping[str, object] | None:
    return {} if ctx.complete and not agreed else None


# When a field counts as given -----------------------------------------------------------------

Given = Callable[[Mapping[str, Any], str], bool]


def filled(data: Mapping[str, Any], key: str) -> bool:
    """Given unless absent, None, blank or an empty list."""
    return data.get(key) not in (None, "", [])


def not_null(data: Mapping[str, Any], key: str) -> bool:
    """Given unless absent or None (an empty list clears the rows)."""
    return data.get(key) is not None


def present(data: Mapping[str, Any], key: str) -> bool:
    """Given when the key is there at all."""
    return key in data


# The table ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FieldSpec:
    """One field of the form: when given, how read, the rules it keeps, where it is kept."""

    name: str
    read: Callable[[Any, Context], Any]
    checks: tuple[Check, ...] = ()
    invalid: LazyString | None = None  # when `read` raises ValueError; None: the reader's message
    required: bool = True  # by a submission
    missing: LazyString = REQUIRED
    given: Given = filled
    scalar: bool = True  # kept in `Application.values`; else in the attribute of its name


FIELDS: tuple[FieldSpec, ...] = (
    FieldSpec(
        "name", read_text, checks=(Limit("<=", 50, _l("At most 50 characters."), measure=_length),)
    ),
    FieldSpec("email", read_text, checks=(Matches(EMAIL_RE, _l("Not an e-mail address.")),)),
    FieldSpec("title", read_text),
    FieldSpec("employer_name", read_text),
    FieldSpec(
        "id_number",
        read_id_number,
        checks=(
            Limit("<", "age_cap", _l("Experts must be younger than %(n)d."), measure=_age),
            Limit(
                ">=",
                25,
                _l("The age derived from the ID number is too young for an expert."),
                measure=_age,
            ),
        ),
    ),
    FieldSpec("phone", read_mobile),
    FieldSpec(
        "title_level",
        read_title_level,
        invalid=_l("Unknown title level."),
        checks=(
            OneOf(
                lambda ctx: SENIOR_LEVELS,
                _l("A senior professional title or an equivalent professional level is required."),
            ),
        ),
    ),
    FieldSpec(
        "years_experience",
        read_whole_number,
        invalid=_l("Give a whole number."),
        checks=(
            Limit(">=", "min_years_experience", _l("At least %(n)d years are required.")),
            Limit("<=", 60, _l("Give a whole number.")),
        ),
    ),
    FieldSpec(
        "home_region", read_text, checks=(OneOf(lambda ctx: ctx.ref.regions, _l("Unknown city.")),)
    ),
    FieldSpec("employer_code", read_credit_code),
    FieldSpec(
        "specialties",
        read_specialty_codes,
        scalar=False,
        checks=(
            Rule(_unknown_codes, _l("Unknown specialty codes: %(codes)s")),
            Rule(_shallow_codes, _l("Choose level-3 or level-4 codes, not %(codes)s")),
            Limit("<=", "max_specialties", _l("At most %(n)d specialties."), measure=_length),
        ),
    ),
    FieldSpec("employment", read_employment, scalar=False, required=False, given=not_null),
    FieldSpec("avoidances", read_avoidances, scalar=False, required=False, given=not_null),
    FieldSpec(
        "consent",
        read_consent,
        scalar=False,
        missing=NO_CONSENT,
        given=present,
        checks=(Rule(_agreed_if_submitted, NO_CONSENT),),
    ),
)
"""The application form, in the order its fields are checked."""

SCALARS = tuple(spec.name for spec in FIELDS if spec.scalar)
"""The fields kept as single values (the form's plain inputs)."""


# Checking -------------------------------------------------------------------------------------


def read_field(spec: FieldSpec, raw: Any, ctx: Context) -> Any:
    """One given field's value, read and checked against its rules; raises `Refused`."""
    try:
        value = spec.read(raw, ctx)
    except InvalidIdentifier as exc:
        raise Refused(str(exc)) from None
    except ValueError:
        if spec.invalid is None:
            raise
        raise Refused(str(spec.invalid)) from None
    for check in spec.checks:
        values = check.broken(value, ctx)
        if values is not None:
            raise Refused(_say(check.message, values))
    return value


def check_application(
    data: Mapping[str, Any], *, ref: Reference, config: Config, today: date, complete: bool
) -> Application:
    """Validate application input (pure); raises `ValidationFailed` listing every bad field.

    A draft (`complete=False`) checks only what is given; a submission requires every field.
    """
    ctx = Context(ref, config, today, complete)
    app = Application()
    errors: dict[str, str] = {}
    for spec in FIELDS:
        if not spec.given(data, spec.name):
            if complete and spec.required:
                errors[spec.name] = str(spec.missing)
            continue
        try:
            value = read_field(spec, data.get(spec.name), ctx)
        except Refused as exc:
            errors.update(
                {f"{spec.name}.{k}" if k else spec.name: m for k, m in exc.fields.items()}
            )
            continue
        if spec.scalar:
            app.values[spec.name] = value
        else:
            setattr(app, spec.name, value)
    if errors:
        raise ValidationFailed(fields=errors)
    if "id_number" in app.values:
        app.birth_date = identity.birth_date_of(app.values["id_number"])
    return app
