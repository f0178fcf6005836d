"""The candidate snapshot of a draw (draw-v1 §3), built from the database with set-based queries.

Every expert is a candidate whatever their status: the engine excludes by reason, and the
exclusion counts belong to the record. Seven queries build the whole pool, whatever its size:
experts, specialties, leave and bookings overlapping the evaluation window, employments inside
the look-back window, declared avoidances (own and relatives'), and recent invitations. The
snapshot is stored compactly (one field array per candidate) and reloaded for the draw.
"""

from __future__ import annotations

import gc
import json
import re
import zlib
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import String, or_, select, type_coerce
from sqlalchemy.orm import Session

from draw import Candidate, InvalidInput, candidates_from_json, cjson, columnar
from expertpool.core.calendar import cst_date
from expertpool.core.tokens import ExpertTokens
from expertpool.draws.conflicts import CONFLICT_STATUS, ProjectConflicts
from expertpool.draws.models import Draw, DrawInvitee
from expertpool.experts.models import (
    Expert,
    ExpertAvoidance,
    ExpertEmployment,
    ExpertLeave,
    ExpertSpecialty,
    ExpertStatus,
)
from expertpool.experts.standing import cap_birth_date, standing_on
from expertpool.projects.models import SeatBooking

# draw-v1 identifiers cannot be empty; an expert without a home region matches no region rule
NO_REGION = "none"
_IDENTIFIER = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,63}")


@dataclass(frozen=True)
class SnapshotWindow:
    """What the snapshot depends on besides the experts: the evaluation window and the
    look-backs.
    """

    starts_at: datetime
    ends_at: datetime
    now_at: datetime
    lookback_years: int
    frequency_window_days: int
    # The age cap on the evaluation day (None: not checked here; the daily maintenance retires).
    age_cap: int | None = None

    @property
    def first_day(self) -> date:
        """The first evaluation day in China Standard Time."""
        return cst_date(self.starts_at)

    @property
    def last_day(self) -> date:
        """The last evaluation day in China Standard Time (the window is half-open)."""
        return cst_date(self.ends_at - timedelta(microseconds=1))

    @property
    def employment_cutoff(self) -> date:
        """Employments that ended on or after this day count as conflicts."""
        day = self.first_day
        try:
            return day.replace(year=day.year - self.lookback_years)
        except ValueError:  # 29 February
            return day.replace(year=day.year - self.lookback_years, day=28)

    @property
    def frequency_since_at(self) -> datetime:
        """Invitations from this moment on count towards the frequency cap."""
        return self.now_at - timedelta(days=self.frequency_window_days)


NOT_QUALIFIED = "not_qualified_for_regime"
"""The snapshot status of an active expert who meets none of the project's regime's paths."""


def expert_key(expert_id: int) -> str:
    """The draw-v1 identifier of an expert (their database id in decimal)."""
    return str(expert_id)


_FIELDS = (
    "id",
    "status",
    "available",
    "specialties",
    "region",
    "employer",
    "avoid_orgs",
    "recent_draws",
)
_new = object.__new__
_set = object.__setattr__


def trusted_candidate(row: Sequence[Any]) -> Candidate:
    """A `Candidate` from values already checked against draw-v1 §2-§3, without validating them
    again.

    Only for values this module built (or stored and reloads): every identifier was matched
    against the same pattern as the engine's, arrays are tuples, and the commitment's pool digest
    is recomputed from the candidates by the engine, so a value that differs is still refused.
    """
    ident, status, available, specialties, region, employer, avoid_orgs, recent_draws = row
    candidate = _new(Candidate)
    _set(candidate, "id", ident)
    _set(candidate, "status", status)
    _set(candidate, "available", available)
    _set(candidate, "specialties", specialties)
    _set(candidate, "region", region)
    _set(candidate, "employer", employer)
    _set(candidate, "avoid_orgs", avoid_orgs)
    _set(candidate, "recent_draws", recent_draws)
    return candidate


def _identifiers(codes: Sequence[str], known: dict[str, bool]) -> tuple[str, ...]:
    """The well-formed codes among `codes`, sorted and distinct (`known` memoises the pattern
    check).
    """
    if len(codes) == 1:  # the common case: no set, no sort
        code = codes[0]
        ok = known.get(code)
        if ok is None:
            ok = known[code] = bool(code) and _IDENTIFIER.fullmatch(code) is not None
        return (code,) if ok else ()
    out = set()
    for code in codes:
        ok = known.get(code)
        if ok is None:
            ok = known[code] = bool(code) and _IDENTIFIER.fullmatch(code) is not None
        if ok:
            out.add(code)
    return tuple(sorted(out))


@contextmanager
def no_gc() -> Iterator[None]:
    """Large pools build hundreds of thousands of small objects; the cycle collector only slows that
    down.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def build_candidates(
    session: Session,
    window: SnapshotWindow,
    *,
    tokens: ExpertTokens | None = None,
    sealed_facts: bool = True,
    shaped_by: set[str] | None = None,
    is_qualified: Callable[[str | None, int | None], bool] | None = None,
    conflicts: ProjectConflicts | None = None,
) -> list[Candidate]:
    """Every expert as a draw-v1 candidate, in ascending id order.

    `conflicts` (`draws/conflicts.py`) maps the project's rules draw-v1 does not name onto its
    inputs: more avoided organisations, or the status `conflict`.

    `is_qualified` (title level, years of experience) is the project's regime's qualification
    check: an active expert qualified only under another regime's paths enters the snapshot with
    the status `not_qualified_for_regime`, so draw-v1 excludes them by status. A record with no
    title level (older records, never one made by the application form) is not checked.

    With `sealed_facts` false (the preview) the candidates ignore what other draws did: seat
    bookings and recent invitations are left out (everyone is taken as not booked and never
    drawn), so nothing computed from them moves with a sealed draw. Leave, status, specialties,
    region and declared conflicts are the expert's own facts and stay. With `sealed_facts`,
    `tokens` matches bookings and invitations, which name experts only by token, and
    `shaped_by` (when given) collects the draws whose bookings or invitations made a candidate
    unavailable or counted in its recent draws (`draw:<id>`; `project:<id>` for a booking made
    for a project without a draw): the transcript waits for all of them to close.

    The queries return plain tuples fetched at once (no ORM objects), and the candidates are built
    from values checked here against the engine's identifier pattern, so the engine does not check
    them again. The cycle collector is off meanwhile (nothing built here forms cycles).
    """
    with no_gc():
        return list(
            map(
                trusted_candidate,
                snapshot_rows(
                    session,
                    window,
                    tokens=tokens,
                    sealed_facts=sealed_facts,
                    shaped_by=shaped_by,
                    is_qualified=is_qualified,
                    conflicts=conflicts,
                ),
            )
        )


Row = tuple[str, str, bool, tuple[str, ...], str, str, tuple[str, ...], int]
"""A candidate's fields in `_FIELDS` order, already checked against draw-v1 §2-§3."""


def snapshot_rows(
    session: Session,
    window: SnapshotWindow,
    *,
    tokens: ExpertTokens | None = None,
    sealed_facts: bool = True,
    shaped_by: set[str] | None = None,
    is_qualified: Callable[[str | None, int | None], bool] | None = None,
    conflicts: ProjectConflicts | None = None,
) -> list[Row]:
    """`build_candidates` as field tuples (no object per candidate), in ascending id order:
    what prepare serialises with `dump_rows`."""
    if sealed_facts and tokens is None:
        raise ValueError("the sealed facts need the expert tokens")
    with no_gc():
        return _build_candidates(
            session, window, tokens if sealed_facts else None, shaped_by, is_qualified, conflicts
        )


def _build_candidates(
    session: Session,
    window: SnapshotWindow,
    tokens: ExpertTokens | None,
    shaped_by: set[str] | None = None,
    is_qualified: Callable[[str | None, int | None], bool] | None = None,
    conflicts: ProjectConflicts | None = None,
) -> list[Row]:
    def rows(stmt: Any) -> Sequence[Any]:
        return session.connection().execute(stmt).all()

    specialties: dict[int, list[str]] = defaultdict(list)
    for expert_id, code in rows(select(ExpertSpecialty.expert_id, ExpertSpecialty.code)):
        specialties[expert_id].append(code)
    on_leave = {
        row[0]
        for row in rows(
            select(ExpertLeave.expert_id)
            .where(ExpertLeave.start_on <= window.last_day, ExpertLeave.end_on >= window.first_day)
            .distinct()
        )
    }
    booked_tokens: set[str] = set()
    if tokens is not None:
        for token, draw_id, project_id in rows(
            select(SeatBooking.expert_token, SeatBooking.draw_id, SeatBooking.project_id).where(
                SeatBooking.released_at.is_(None),
                SeatBooking.starts_at < window.ends_at,
                SeatBooking.ends_at > window.starts_at,
            )
        ):
            booked_tokens.add(token)
            if shaped_by is not None:
                shaped_by.add(f"draw:{draw_id}" if draw_id else f"project:{project_id}")
    avoid: dict[int, list[str]] = defaultdict(list)
    for expert_id, org in rows(
        select(ExpertEmployment.expert_id, ExpertEmployment.org_code).where(
            ExpertEmployment.start_on <= window.last_day,
            or_(
                ExpertEmployment.end_on.is_(None),
                ExpertEmployment.end_on >= window.employment_cutoff,
            ),
        )
    ):
        avoid[expert_id].append(org)
    for expert_id, org in rows(select(ExpertAvoidance.expert_id, ExpertAvoidance.org_code)):
        avoid[expert_id].append(org)
    if conflicts is not None:
        for expert_id, orgs_of in conflicts.avoid_orgs.items():
            avoid[expert_id].extend(orgs_of)
    recent_tokens: dict[str, int] = {}
    if tokens is not None:
        for token, draw_id in rows(
            select(DrawInvitee.expert_token, Draw.draw_id)
            .join(Draw, Draw.id == DrawInvitee.draw_pk)
            .where(
                DrawInvitee.invited_at >= window.frequency_since_at,
                DrawInvitee.invited_at <= window.now_at,
            )
        ):
            recent_tokens[token] = recent_tokens.get(token, 0) + 1
            if shaped_by is not None:
                shaped_by.add(f"draw:{draw_id}")
    # Status and title level as their stored values (no enum conversion per row by SQLAlchemy).
    experts = rows(
        select(
            Expert.id,
            type_coerce(Expert.status, String),
            Expert.home_region,
            Expert.employer_code,
            type_coerce(Expert.title_level, String),
            Expert.years_experience,
            Expert.suspended_until,
            Expert.birth_date,
            Expert.term_ends_on,
            Expert.is_low_credit,
        ).order_by(Expert.id)
    )
    booked: set[int] = set()
    recent: dict[int, int] = {}
    if tokens is not None and (booked_tokens or recent_tokens):
        # Bookings and invitations name experts by token: match every expert's token to them.
        for token, expert_id in tokens.tokens([row[0] for row in experts]).items():
            if token in booked_tokens:
                booked.add(expert_id)
            if token in recent_tokens:
                recent[expert_id] = recent_tokens[token]
    unavailable = on_leave | booked
    known: dict[str, bool] = {"": False}
    by_value = {s.value: s for s in ExpertStatus}
    # What the expert's status will be on the evaluation day, from dated facts: leave is decided by
    # its dates (availability above), so `on_leave` today is no reason by itself (issue #22).
    dated = (ExpertStatus.ACTIVE, ExpertStatus.ON_LEAVE, ExpertStatus.SUSPENDED)
    day, age_cap = window.first_day, window.age_cap
    # An active record below the age cap and within its term is active on the day: decided here
    # without calling `standing_on` (which decides every other case, as it did).
    cap_born = cap_birth_date(day, age_cap) if age_cap is not None else None
    barred = conflicts.barred if conflicts is not None else {}
    no_codes: tuple[str, ...] = ()
    # Experts share a few hundred distinct specialty and avoidance lists: each list is checked
    # and sorted once (keyed by the codes as fetched), then shared by every expert with it.
    clean: dict[tuple[str, ...], tuple[str, ...]] = {(): no_codes}

    def cleaned(codes_of: dict[int, list[str]]) -> dict[int, tuple[str, ...]]:
        out: dict[int, tuple[str, ...]] = {}
        for expert_id, codes in codes_of.items():
            raw = tuple(codes)
            found = clean.get(raw)
            if found is None:
                found = clean[raw] = _identifiers(raw, known)
            out[expert_id] = found
        return out

    def plain(codes: set[str | None], fallback: str) -> dict[str | None, str]:
        return {c: c if c and _identifiers((c,), known) else fallback for c in codes}

    region_of = plain({row[2] for row in experts}, NO_REGION)
    employer_of = plain({row[3] for row in experts}, "")
    get_specialties = cleaned(specialties).get
    get_avoid = cleaned(avoid).get
    get_recent = recent.get
    out: list[Row] = []
    append = out.append
    for expert_id, stored, region, employer, level, years, until, born, term_end, low in experts:
        if (
            stored == "active"
            and not low
            and (term_end is None or term_end >= day)
            and (born is None or cap_born is None or born > cap_born)
        ):
            status_text = "active"
        else:
            status = by_value[stored]
            status_text = (
                standing_on(
                    status,
                    day=day,
                    suspended_until=until,
                    birth_date=born,
                    term_ends_on=term_end,
                    age_cap=age_cap,
                    is_low_credit=bool(low),
                )
                if status in dated
                else status.value
            )
        if (
            is_qualified is not None
            and status_text == "active"
            and level is not None  # a record without a title level predates the paths
            and not is_qualified(level, years)
        ):
            status_text = NOT_QUALIFIED
        if expert_id in barred and status_text == "active":
            status_text = CONFLICT_STATUS
        append(
            (
                str(expert_id),
                status_text,
                expert_id not in unavailable,
                get_specialties(expert_id, no_codes),
                region_of[region],
                employer_of[employer],
                get_avoid(expert_id, no_codes),
                get_recent(expert_id, 0),
            )
        )
    return out


# Storage ------------------------------------------------------------------------------------------

CANDIDATES_FORMAT = "draw-v1/candidates"
"""The stored snapshot since #30: the canonical JSON of draw-v1 §3's candidate array, in id
order, inside `{"candidates": [...], "format": CANDIDATES_FORMAT}` (itself canonical), zlib. Its
`candidates` bytes are exactly what the pool digest hashes, so the columnar loader
(`draw.columnar`) checks and hashes them in one pass."""

CANDIDATES_HEAD = b'{"candidates":'
CANDIDATES_TAIL = b',"format":"' + CANDIDATES_FORMAT.encode("ascii") + b'"}'


def snapshot_document(rows: Sequence[Row]) -> bytes:
    """The snapshot document (uncompressed) of `snapshot_rows`: candidates sorted by id (as text,
    as draw-v1 orders them), each object with its keys in canonical order.

    orjson writes these values exactly as cjson does: every text is an identifier or a status
    this module chose (ASCII, nothing to escape), integers are small (`tests/integration/draws/
    test_snapshot_storage.py` compares the bytes with `draw.canonical_json`).
    """
    with no_gc():
        ordered = sorted(rows, key=_by_id)
        body = orjson.dumps(
            [
                {
                    "available": available,
                    "avoid_orgs": avoid_orgs,
                    "employer": employer,
                    "id": ident,
                    "recent_draws": recent,
                    "region": region,
                    "specialties": codes,
                    "status": status,
                }
                for ident, status, available, codes, region, employer, avoid_orgs, recent in ordered
            ]
        )
    return CANDIDATES_HEAD + body + CANDIDATES_TAIL


def _by_id(row: Row) -> str:
    return row[0]


def compress_document(document: bytes) -> bytes:
    """The stored (compressed) form of a snapshot document."""
    return zlib.compress(document, 1)


SNAPSHOT_FORMAT = "draw-v1/candidate-rows"


def dump_snapshot(pool: Sequence[Candidate]) -> bytes:
    """The snapshot as stored until #30 (still read): zlib of one JSON object with a row (a field
    array) per candidate, by id.
    """
    rows = [
        [
            c.id,
            c.status,
            c.available,
            c.specialties,
            c.region,
            c.employer,
            c.avoid_orgs,
            c.recent_draws,
        ]
        for c in sorted(pool, key=lambda c: c.id)
    ]
    doc = {"format": SNAPSHOT_FORMAT, "fields": _FIELDS, "rows": rows}
    return zlib.compress(
        json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode("utf-8"), 1
    )


def _row_types_fit(row: Any) -> bool:
    return (
        type(row) is list
        and len(row) == 8
        and type(row[0]) is str
        and type(row[1]) is str
        and type(row[2]) is bool
        and type(row[3]) is list
        and type(row[4]) is str
        and type(row[5]) is str
        and type(row[6]) is list
        and type(row[7]) is int
    )


def load_snapshot_bytes(raw: bytes) -> tuple[Candidate, ...]:
    """The candidates of a stored snapshot.

    Rows stored by `dump_snapshot` are rebuilt without the engine's per-field validation (the
    engine recomputes the pool digest from them); anything else, including the older format (an
    array of candidate objects), goes through the engine's full validation.
    """
    data = zlib.decompress(raw)
    if data.startswith(CANDIDATES_HEAD):
        return candidates_of_document(data)
    doc = json.loads(data)
    if (
        type(doc) is dict
        and doc.get("format") == SNAPSHOT_FORMAT
        and list(doc.get("fields", ())) == list(_FIELDS)
    ):
        rows = doc["rows"]
        if type(rows) is list and all(_row_types_fit(r) for r in rows):
            return tuple(
                trusted_candidate((r[0], r[1], r[2], tuple(r[3]), r[4], r[5], tuple(r[6]), r[7]))
                for r in rows
            )
        raise InvalidInput("snapshot", "a stored candidate row is out of form")
    return candidates_from_json(doc)


def candidates_of_document(data: bytes) -> tuple[Candidate, ...]:
    """The candidates of a snapshot document (`snapshot_document`): through the columnar loader,
    which validates each column at once, or else (anything out of form) through the engine's
    full validation, whose error names the field."""
    loaded = columnar.load_with_pool(data, ascending=True)
    if loaded is not None and loaded[0].get("format") == CANDIDATES_FORMAT:
        pool = loaded[1]
        with no_gc():
            return tuple(
                map(
                    trusted_candidate,
                    zip(
                        pool.ids,
                        pool.status,
                        pool.available,
                        pool.specialties,
                        pool.region,
                        pool.employer,
                        pool.avoid_orgs,
                        pool.recent_draws,
                        strict=True,
                    ),
                )
            )
    try:
        doc = cjson.loads(data)
        if type(doc) is not dict or doc.get("format") != CANDIDATES_FORMAT:
            raise InvalidInput("format", f"not {CANDIDATES_FORMAT}")
        return candidates_from_json(doc.get("candidates"))
    except InvalidInput as exc:
        raise InvalidInput("snapshot", str(exc)) from None


def employers_in_snapshot(raw: bytes) -> dict[str, str]:
    """Candidate id -> employer code, straight from a stored snapshot (for §9 replacements)."""
    data = zlib.decompress(raw)
    if data.startswith(CANDIDATES_HEAD):
        return {c["id"]: c["employer"] for c in orjson.loads(data)["candidates"]}
    doc = json.loads(data)
    if type(doc) is dict and doc.get("format") == SNAPSHOT_FORMAT:
        return {r[0]: r[5] for r in doc["rows"]}
    return {c["id"]: c["employer"] for c in doc}
