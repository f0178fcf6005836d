"""The draw protocol at a terminal (draw-v1): preview, prepare, witnesses, draw, abandon, opening.

Prepare builds the candidate snapshot and the signed commitment, seals the secret and records
the commitment in the draw ledger; the terminal shows `H(commit)`. The operator and a supervisor
(authenticated separately at the same terminal) then enter witness digits, and the draw runs:
the signed sealed record goes to the ledger and the result is stored sealed. Nobody reads
names before the session opens. Invitations, replacements (§9) and seats are in `panels.py`.
"""

from __future__ import annotations

import base64
import json
import re
import secrets
from collections import Counter
from concurrent.futures import Executor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

import draw
from draw import cjson
from draw.model import format_timestamp
from expertpool.accounts import users
from expertpool.accounts.models import User, UserRole
from expertpool.core import audit
from expertpool.core.calendar import cst_date
from expertpool.core.config import Config
from expertpool.core.errors import (
    BrokenInvariant,
    Conflict,
    Forbidden,
    NotFound,
    Unauthenticated,
    ValidationFailed,
    must_exist,
)
from expertpool.core.keys import KeyStore
from expertpool.core.texts import _l
from expertpool.core.tokens import ExpertTokens
from expertpool.draws import compute, panels, remote, sealing
from expertpool.draws import ledger as draw_ledger
from expertpool.draws import requests as draw_requests
from expertpool.draws.conflicts import ProjectConflicts, project_conflicts
from expertpool.draws.models import (
    Draw,
    DrawRequestRecord,
    DrawRequestStatus,
    DrawStatus,
    LedgerKind,
)
from expertpool.draws.rules import timing_errors
from expertpool.draws.snapshot import (
    SnapshotWindow,
    build_candidates,
    load_snapshot_bytes,
    no_gc,
    snapshot_rows,
)
from expertpool.events import events
from expertpool.experts.models import Expert
from expertpool.notifications.context import NotifyContext
from expertpool.projects import projects
from expertpool.projects.models import CLOSED_STATUSES, Project, ProjectStatus, Terminal
from expertpool.projects.terminals import check_terminal_for

WITNESS = re.compile(r"[0-9]{6,64}")
OPENING_LEAD = timedelta(
    minutes=30
)  # the session may be opened this long before the evaluation starts


# Reading a draw -----------------------------------------------------------------------------------


def get_draw(session: Session, draw_id: str, *, lock: bool = False) -> Draw:
    """A draw by its draw id, or `NotFound` (locked for update when asked)."""
    stmt = select(Draw).where(Draw.draw_id == draw_id)
    if lock:
        stmt = stmt.with_for_update()
    found = session.execute(stmt).scalar_one_or_none()
    if found is None:
        raise NotFound()
    return found


def draw_for_request(session: Session, request_id: int) -> Draw | None:
    """The draw made for a request, if any."""
    return session.execute(select(Draw).where(Draw.request_id == request_id)).scalar_one_or_none()


def list_draws(session: Session, *, centre_id: int | None = None) -> list[Draw]:
    """Draws, newest first (only a centre's own projects when `centre_id` is given)."""
    stmt = select(Draw).order_by(Draw.id.desc())
    if centre_id is not None:
        stmt = stmt.join(Project, Project.id == Draw.project_id).where(
            Project.owner_centre_id == centre_id
        )
    return list(session.execute(stmt).scalars())


def commit_digest(d: Draw) -> str:
    """H(commit): the fingerprint shown at the terminal."""
    return d.commit_digest


def may_see_counts(d: Draw, user: User) -> bool:
    """Whether `user` may read the draw's commitment counts and sealed record before the close.

    Only the draw's operator and its witnessing supervisor: everyone else sees H(commit) and the
    status (docs/sealing.md). After the close the record is the auditors' too.
    """
    return user.id in {d.operator_id, d.supervisor_id}


def visible_record(d: Draw, record: dict[str, Any] | None) -> dict[str, Any] | None:
    """A commitment or sealed record as its readers may see it: the secondary venues' groups'
    eligible counts withheld until the opening, from the operator too (`draws/remote.py`)."""
    return record if d.status is DrawStatus.OPENED else remote.withhold(record)


def draw_view(d: Draw, keys: KeyStore, *, with_counts: bool) -> dict[str, Any]:
    """A draw as JSON: the protocol's state, never who was drawn; counts only `with_counts`."""
    return {
        "draw_id": d.draw_id,
        "request_id": d.request_id,
        "project_id": d.project_id,
        "status": d.status.value,
        "commit_digest": commit_digest(d),
        "commit": visible_record(d, sealing.open_commit(d, keys)) if with_counts else None,
        "commit_signature": d.commit_signature,
        "key_id": d.key_id,
        "public_key": d.public_key,
        "witnesses": {
            "operator": d.operator_digits is not None,
            "supervisor": d.supervisor_digits is not None,
        },
        "sealed": visible_record(d, sealing.open_sealed(d, keys)) if with_counts else None,
        "sealed_signature": d.sealed_signature,
        "reason": d.reason,
        "prepared_at": d.prepared_at.isoformat(),
        "drawn_at": d.drawn_at.isoformat() if d.drawn_at else None,
        "opened_at": d.opened_at.isoformat() if d.opened_at else None,
    }


def progress(d: Draw) -> list[dict[str, Any]]:
    """Per group: seats, accepted and open invitations (counts only: safe before opening)."""
    req = json.loads(d.request_json)
    counts: dict[str, Counter[str]] = {g["id"]: Counter() for g in req["groups"]}
    for inv in d.invitees:
        counts.setdefault(inv.group_key, Counter())[inv.status.value] += 1
    return [
        {
            "group": g["id"],
            "seats": g["count"],
            "accepted": counts[g["id"]]["accepted"],
            "invited": counts[g["id"]]["invited"],
        }
        for g in req["groups"]
    ]


# Preview ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Preview:
    """Eligible counts per group and exclusions per reason (never names), and why it cannot be
    drawn.
    """

    candidates: int
    excluded: dict[str, int]
    groups: list[dict[str, Any]]
    needed: int
    distinct_eligible: int
    problems: list[str]  # why it cannot be drawn, with numbers
    warnings: list[str]  # e.g. fewer backups than asked
    # The `not_active` exclusions by the standing that caused them (suspended, removed,
    # low_credit, term_expired, ...): from the experts' own records, never from sealed draws.
    not_active_by: dict[str, int] = field(default_factory=dict)

    @property
    def is_feasible(self) -> bool:
        """Whether the request can be drawn from the pool as it stands."""
        return not self.problems


def _window(req: DrawRequestRecord, config: Config, now: datetime) -> SnapshotWindow:
    return SnapshotWindow(
        starts_at=req.evaluation_start_at,
        ends_at=req.evaluation_end_at,
        now_at=now,
        lookback_years=config.conflict_lookback_years,
        frequency_window_days=req.frequency_window_days,
        age_cap=config.age_cap,
    )


def _conflicts(session: Session, project: Project, window: SnapshotWindow) -> ProjectConflicts:
    """The project's conflicts draw-v1 does not name, for the evaluation's first day."""
    return project_conflicts(
        session, project, day=window.first_day, employment_cutoff=window.employment_cutoff
    )


def invited_for_project(session: Session, project_id: int, keys: KeyStore) -> set[str]:
    """Every expert invited for any draw of the project (excluded from later draws, §9).

    Invitees are stored by token; each earlier draw's sealed result names them again (the
    decryption is recorded in the audit trail).
    """
    tokens = ExpertTokens(keys)
    out: set[str] = set()
    for d in session.execute(
        select(Draw).where(Draw.project_id == project_id, Draw.result_enc.is_not(None))
    ).scalars():
        stored = {i.expert_token for i in d.invitees}
        if not stored:
            continue
        audit.record(
            session,
            actor="draw",
            action="draw.decrypt",
            object_type="draw",
            object_id=d.draw_id,
            after={"purpose": "exclusion"},
        )
        result = sealing.open_result(d, keys)
        named = tokens.tokens({e for g in result.groups for e in (*g.primaries, *g.backups)})
        out |= {str(named[t]) for t in stored if t in named}
    return out


def preview(session: Session, *, request_id: int, config: Config, now: datetime) -> Preview:
    """Apply the rules to today's pool: how many are eligible per group and excluded per reason.

    The counts come only from facts no sealed draw shapes (status, specialties, region, leave,
    declared and employment conflicts with this project's organisations): seat bookings, recent
    invitations and this project's earlier invitees are left out, so two identical requests get
    identical previews whatever other draws hold (docs/sealing.md). The draw itself applies them.
    """
    req = draw_requests.get_request(session, request_id)
    # The secondary venues' groups are left out: their cities are sealed until the opening.
    doc = draw_requests.engine_request(req, draw_id="preview", excluded_experts=[])
    if not doc["groups"]:
        return Preview(0, {r.value: 0 for r in draw.Reason}, [], 0, 0, [], [])
    request = draw.DrawRequest.from_json(doc)
    window = _window(req, config, now)
    with no_gc():
        pool = build_candidates(
            session,
            window,
            sealed_facts=False,
            is_qualified=projects.project_rules(session, req.project).is_qualified,
            conflicts=_conflicts(session, req.project, window),
        )
        elig = draw.evaluate_eligibility(request, pool)
    excluded = Counter(e.reason.value for e in elig.excluded)
    standing = {c.id: c.status for c in elig.candidates}
    not_active_by = Counter(
        standing.get(e.id, "") for e in elig.excluded if e.reason is draw.Reason.NOT_ACTIVE
    )
    distinct = len({e for ids in elig.eligible.values() for e in ids})
    needed = sum(g.count for g in request.groups)
    problems: list[str] = []
    warnings: list[str] = []
    groups = []
    for g in request.groups:
        ids = elig.eligible[g.id]
        employers = len({c.employer for c in elig.candidates if c.id in set(ids) and c.employer})
        groups.append(
            {
                "group": g.id,
                "specialties": list(g.specialties),
                "count": g.count,
                "backups": g.backups,
                "eligible": len(ids),
                "employers": employers,
            }
        )
        if len(ids) < g.count:
            problems.append(
                f"group {g.id} needs {g.count} experts but only {len(ids)} are eligible"
            )
        elif len(ids) < g.count + g.backups:
            warnings.append(
                f"group {g.id} needs {g.count} experts and {g.backups} backups but only "
                f"{len(ids)} are eligible (fewer backups)"
            )
    if needed > distinct:
        problems.append(
            f"the groups need {needed} different experts but only {distinct} are eligible in all"
        )
    if request.distinct_employers and not problems:
        pool_ids = {e for ids in elig.eligible.values() for e in ids}
        by_id = {c.id: c.employer for c in elig.candidates if c.id in pool_ids}
        without = sum(1 for e in by_id.values() if e == "")
        named = len({e for e in by_id.values() if e})
        if without + named < needed:
            problems.append(
                f"{needed} experts with distinct employers are needed but the eligible experts "
                f"have only {named} employers and {without} experts without one"
            )
    # The timing rule of the project's regime and method (off-site and negotiation methods may be
    # exempt): a draw now would be refused, though the preview itself is allowed.
    warnings.extend(_timing_errors(session, req, now).values())
    return Preview(
        candidates=len(elig.candidates),
        excluded={r.value: excluded.get(r.value, 0) for r in draw.Reason},
        groups=groups,
        needed=needed,
        distinct_eligible=distinct,
        problems=problems,
        warnings=warnings,
        not_active_by=dict(sorted(not_active_by.items())),
    )


# Prepare ------------------------------------------------------------------------------------------


def _timing_errors(session: Session, req: DrawRequestRecord, now: datetime) -> dict[str, str]:
    """The regime's timing rule for a draw of `req` now. A supplementary draw (补抽) fills seats
    of a committee that may already sit, so neither the lead time nor the evaluation start binds
    it (a closed project refuses it elsewhere)."""
    if req.parent_id is not None:
        return {}
    return timing_errors(
        now_at=now,
        evaluation_start_at=req.evaluation_start_at,
        lead_working_days=draw_requests.lead_days_of(session, req),
    )


def new_draw_id(project: Project, now: datetime) -> str:
    """A fresh draw id: the day, the project and random digits (never reused: unique in the
    ledger).
    """
    return f"D{cst_date(now):%Y%m%d}-P{project.id}-{secrets.token_hex(4)}"


def _lock_request(session: Session, request_id: int) -> DrawRequestRecord:
    req = session.execute(
        select(DrawRequestRecord).where(DrawRequestRecord.id == request_id).with_for_update()
    ).scalar_one_or_none()
    if req is None:
        raise NotFound()
    return req


def _lock_project(session: Session, req: DrawRequestRecord) -> Project:
    """The request's project, locked: ready for a first draw, drawn for a supplementary one
    (补抽).
    """
    if req.parent_id is None:
        return projects.lock_for_draw(session, req.project_id)
    project = session.execute(
        select(Project).where(Project.id == req.project_id).with_for_update()
    ).scalar_one()
    if project.status not in (ProjectStatus.DRAWN, ProjectStatus.OPENED):
        raise Conflict(
            str(_l("A supplementary draw needs a drawn project.")), code="project_not_drawn"
        )
    return project


def _check_operator(actor: User, terminal: Terminal, project: Project) -> None:
    if actor.role is not UserRole.CENTRE_STAFF:
        raise Forbidden(str(_l("Only centre staff operate a draw terminal.")))
    check_terminal_for(terminal, project.owner_centre_id)
    if actor.centre_id != project.owner_centre_id:
        raise Forbidden(str(_l("You may act only for your own centre.")), code="outside_centre")


def load_snapshot(d: Draw, keys: KeyStore) -> tuple[draw.Candidate, ...]:
    """The stored candidate snapshot of a draw (sealed under its key)."""
    return load_snapshot_bytes(sealing.open_snapshot(d, keys))


def prepare_draw(
    session: Session,
    *,
    actor: User,
    terminal: Terminal,
    request_id: int,
    keys: KeyStore,
    config: Config,
    now: datetime,
    cpu_pool: Executor | None = None,
) -> Draw:
    """Snapshot, sign and record the commitment of a validated request at a terminal; commits.

    An insufficient pool is refused with its numbers before anything is committed (the request
    is marked failed, with the reason in the audit trail). §4-§5 run in `cpu_pool` when given
    (`AppState.cpu_pool`, draws/compute.py), else here; signing and sealing stay here.
    """
    req = _lock_request(session, request_id)
    project = _lock_project(session, req)
    _check_operator(actor, terminal, project)
    if (
        req.status is not DrawRequestStatus.VALIDATED
        or draw_for_request(session, req.id) is not None
    ):
        raise Conflict(
            str(_l("This request has already been used for a draw; make a new request.")),
            code="request_used",
        )
    errors = _timing_errors(session, req, now)
    if errors:
        raise ValidationFailed(fields=errors)
    draw_id = new_draw_id(project, now)
    doc = draw_requests.engine_request(
        req,
        draw_id=draw_id,
        excluded_experts=sorted(invited_for_project(session, project.id, keys)),
        remote_regions=remote.regions_by_group(req, keys),
    )
    key_id, signer = keys.draw_signing_key()
    secret = draw.generate_secret()
    window = _window(req, config, now)
    conflicts = _conflicts(session, project, window)
    shaped_by: set[str] = set()
    rows = snapshot_rows(
        session,
        window,
        tokens=ExpertTokens(keys),
        shaped_by=shaped_by,
        is_qualified=projects.project_rules(session, project).is_qualified,
        conflicts=conflicts,
    )
    # §4-§5 over the whole pool: the CPU-bound part, in the worker process when there is one.
    outcome = compute.run(cpu_pool, compute.commit_job, doc, rows, secret, format_timestamp(now))
    del rows
    if outcome.refused is not None or outcome.commit is None:
        scope, needed, eligible, message = outcome.refused or (None, 0, 0, "")
        req.status = DrawRequestStatus.FAILED
        # Every prepare is in the ledger, a refused one too; its numbers are the operator's
        # alone until the close (they move with other draws' bookings), so they are sealed.
        numbers = {"group": scope, "needed": needed, "eligible": eligible}
        draw_ledger.append_entry(
            session,
            draw_id=draw_id,
            project_id=project.id,
            kind=LedgerKind.REFUSED,
            payload={
                "draw_id": draw_id,
                "code": "insufficient_pool",
                "numbers_enc": base64.b64encode(
                    sealing.seal_numbers(keys, draw_id, numbers)
                ).decode("ascii"),
            },
            operator=actor.username,
            terminal_id=terminal.id,
            request_id=req.id,
        )
        audit.record(
            session,
            actor=actor.username,
            action="draw.insufficient_pool",
            object_type="draw_request",
            object_id=req.id,
            after={"draw_id": draw_id},
        )
        session.commit()
        if remote.is_remote_group(str(scope)):
            # its numbers would narrow down the secondary venue's city
            message = str(_l("a secondary venue's group cannot be filled"))
        raise Conflict(
            str(_l("Not enough eligible experts: %(m)s", m=message)),
            code="insufficient_pool",
        ) from None
    commit = draw.Commit.from_json(outcome.commit)
    prepared = draw.PreparedCommit(
        commit, draw.sign_json(commit.to_json(), signer), draw.public_key_b64(signer)
    )
    snapshot = outcome.stored
    draw_key, wrapped = sealing.new_draw_key(keys.sealing_key(), draw_id)
    commit_bytes = draw.canonical_json(prepared.commit.to_json())
    commit_digest_ = draw.canonical_digest(prepared.commit.to_json())
    d = Draw(
        draw_id=draw_id,
        request_id=req.id,
        project_id=project.id,
        status=DrawStatus.COMMITTED,
        terminal_id=terminal.id,
        operator_id=actor.id,
        request_json=draw.canonical_json(sealing.public_request(doc)).decode("utf-8"),
        request_enc=sealing.seal_value(draw_key, draw_id, "request", draw.canonical_json(doc)),
        snapshot=sealing.seal_value(draw_key, draw_id, "snapshot", snapshot),
        commit_digest=commit_digest_,
        commit_enc=sealing.seal_value(draw_key, draw_id, "commit", commit_bytes),
        commit_signature=prepared.signature,
        key_id=key_id,
        public_key=prepared.public_key,
        wrapped_key=wrapped,
        secret_enc=sealing.seal_value(draw_key, draw_id, "secret", secret.encode("ascii")),
        shaped_enc=sealing.seal_value(draw_key, draw_id, "shaped", cjson.dumps(sorted(shaped_by))),
        conflicts_enc=sealing.seal_value(
            draw_key, draw_id, "conflicts", cjson.dumps(conflicts.sealed_reasons())
        ),
        prepared_at=now,
    )
    session.add(d)
    try:
        session.flush()
    except IntegrityError:
        session.rollback()
        raise Conflict(
            str(_l("This request has already been used for a draw; make a new request.")),
            code="request_used",
        ) from None
    draw_ledger.append_entry(
        session,
        draw_id=draw_id,
        project_id=project.id,
        kind=LedgerKind.COMMIT,
        payload={
            "draw_id": draw_id,
            "commit_digest": commit_digest_,
            "commit_enc": base64.b64encode(
                sealing.seal_value(draw_key, draw_id, "commit-ledger", commit_bytes)
            ).decode("ascii"),
        },
        operator=actor.username,
        terminal_id=terminal.id,
        signature=prepared.signature,
        key_id=key_id,
        request_id=req.id,
    )
    req.status = DrawRequestStatus.COMMITTED
    terminal.last_seen_at = now
    audit.record(
        session,
        actor=actor.username,
        action="draw.commit",
        object_type="draw",
        object_id=draw_id,
        after={
            "request_id": req.id,
            "commit_digest": prepared.digest,
            "terminal": terminal.name,
            "candidates": outcome.candidates,
        },
    )
    session.commit()
    return d


# Witnesses ----------------------------------------------------------------------------------------


def _open_for_witnesses(session: Session, draw_id: str, terminal: Terminal) -> Draw:
    d = get_draw(session, draw_id, lock=True)
    if d.status is not DrawStatus.COMMITTED:
        raise Conflict(
            str(_l("This commitment has already been used; a commitment serves one draw.")),
            code="commitment_reused",
        )
    if d.terminal_id != terminal.id:
        raise Forbidden(
            str(_l("Witnesses enter their digits at the terminal where the commitment was shown.")),
            code="terminal_other",
        )
    return d


def _check_digits(digits: str, other: str | None) -> str:
    clean = (digits or "").strip()
    if not WITNESS.fullmatch(clean):
        raise ValidationFailed(fields={"digits": str(_l("Enter 6 to 64 digits (0-9)."))})
    if other is not None and clean == other:
        raise ValidationFailed(
            fields={"digits": str(_l("The two witnesses must enter different digits."))}
        )
    return clean


def witness_operator(
    session: Session, *, draw_id: str, actor: User, terminal: Terminal, digits: str, now: datetime
) -> Draw:
    """Record the operator's witness digits (after the commitment was shown); commits."""
    d = _open_for_witnesses(session, draw_id, terminal)
    if actor.id != d.operator_id:
        raise Forbidden(
            str(_l("Only the operator who prepared this draw enters the operator's digits."))
        )
    if d.operator_digits is not None:
        raise Conflict(
            str(_l("The operator's digits are already recorded.")), code="witness_recorded"
        )
    d.operator_digits = _check_digits(digits, d.supervisor_digits)
    d.operator_witnessed_at = now
    audit.record(
        session,
        actor=actor.username,
        action="draw.witness",
        object_type="draw",
        object_id=draw_id,
        after={"role": "operator"},
    )
    session.commit()
    return d


def witness_supervisor(
    session: Session,
    *,
    draw_id: str,
    terminal: Terminal,
    username: str,
    password: str,
    digits: str,
    now: datetime,
) -> Draw:
    """Authenticate a supervisor at the terminal and record their witness digits; commits.

    The supervisor must be one of the project's (`check_supervisor`) and another person than the
    operator; every refusal reads the same and is recorded in the audit trail with its reason.
    """
    d = _open_for_witnesses(session, draw_id, terminal)
    supervisor = check_supervisor(
        session,
        project=must_exist(session.get(Project, d.project_id)),
        username=username,
        password=password,
        not_ids={d.operator_id},
        label=draw_id,
        context={"step": "witness", "terminal": terminal.name},
    )
    if d.supervisor_digits is not None:
        raise Conflict(
            str(_l("The supervisor's digits are already recorded.")), code="witness_recorded"
        )
    d.supervisor_digits = _check_digits(digits, d.operator_digits)
    d.supervisor_id = supervisor.id
    d.supervisor_authenticated_at = now
    d.supervisor_witnessed_at = now
    audit.record(
        session,
        actor=supervisor.username,
        action="draw.witness",
        object_type="draw",
        object_id=draw_id,
        after={"role": "supervisor", "authenticated_at_terminal": terminal.name},
    )
    session.commit()
    return d


def witnesses_in_order(d: Draw) -> list[str]:
    """The witness entries in the order they were entered."""
    entries: list[tuple[datetime, str]] = []
    if d.operator_digits is not None and d.operator_witnessed_at is not None:
        entries.append((d.operator_witnessed_at, d.operator_digits))
    if d.supervisor_digits is not None and d.supervisor_witnessed_at is not None:
        entries.append((d.supervisor_witnessed_at, d.supervisor_digits))
    return [digits for _at, digits in sorted(entries, key=lambda e: e[0])]


# The draw -----------------------------------------------------------------------------------------


def _fail(
    session: Session,
    d: Draw,
    *,
    actor: str,
    supervisor: str | None,
    code: str,
    reason: str,
    now: datetime,
) -> None:
    draw_ledger.append_entry(
        session,
        draw_id=d.draw_id,
        project_id=d.project_id,
        kind=LedgerKind.FAILED,
        payload={"draw_id": d.draw_id, "code": code, "reason": reason},
        operator=actor,
        supervisor=supervisor,
        terminal_id=d.terminal_id,
        request_id=d.request_id,
    )
    d.status = DrawStatus.FAILED
    d.reason = f"{code}: {reason}"[:1000]
    d.closed_at = now
    d.request.status = DrawRequestStatus.FAILED
    audit.record(
        session,
        actor=actor,
        action="draw.failed",
        object_type="draw",
        object_id=d.draw_id,
        after={"code": code, "reason": reason},
    )


def run_draw(
    session: Session,
    *,
    draw_id: str,
    actor: User,
    terminal: Terminal,
    keys: KeyStore,
    config: Config,
    now: datetime,
    ctx: NotifyContext,
    cpu_pool: Executor | None = None,
) -> Draw:
    """Rank and select after both witnesses (§6-§8), seal, and queue the invitations; commits.

    An infeasible request, or a stored snapshot that no longer matches the commitment, closes
    the draw as failed with its reason in the ledger (the returned draw says so). §4-§7 run in
    `cpu_pool` when given, else here; the same bytes come out either way.
    """
    d = get_draw(session, draw_id, lock=True)
    if d.status is not DrawStatus.COMMITTED:
        raise Conflict(
            str(_l("This commitment has already been used; a commitment serves one draw.")),
            code="commitment_reused",
        )
    if d.terminal_id != terminal.id:
        raise Forbidden(
            str(_l("The draw runs at the terminal where the commitment was shown.")),
            code="terminal_other",
        )
    if actor.id != d.operator_id:
        raise Forbidden(str(_l("Only the operator who prepared this draw runs it.")))
    if must_exist(session.get(Project, d.project_id)).status.is_closed:
        raise Conflict(
            str(_l("The project has ended (failed or cancelled); its draws no longer run.")),
            code="project_ended",
        )
    if d.operator_digits is None or d.supervisor_digits is None:
        raise Conflict(
            str(_l("Both the operator and a supervisor must enter their digits first.")),
            code="witnesses_missing",
        )
    errors = _timing_errors(session, d.request, now)
    if errors:
        raise ValidationFailed(fields=errors)
    if d.supervisor_id is None:
        raise BrokenInvariant()
    supervisor = session.get(User, d.supervisor_id)
    supervisor_name = supervisor.username if supervisor else None
    key_id, signer = keys.draw_signing_key()
    witnesses = witnesses_in_order(d)
    try:
        request_doc = sealing.open_request(d, keys)
        commit_doc = sealing.open_commit(d, keys)
        stored = sealing.open_snapshot(d, keys)
        secret = sealing.open_secret(d, keys)
        if key_id != d.key_id:
            raise draw.InvalidInput(
                "key_id", f"the signing key changed from {d.key_id} to {key_id}"
            )
    except (draw.InvalidInput, sealing.SealBroken) as exc:
        code = exc.code if isinstance(exc, draw.DrawError) else "seal_broken"
        outcome = compute.SelectOutcome(None, {}, (code, str(exc)))
    else:
        outcome = compute.run(
            cpu_pool, compute.select_job, request_doc, commit_doc, stored, secret, witnesses
        )
        del stored
    if outcome.error is not None or outcome.result is None:
        code, reason = outcome.error or ("invalid_input", "no result")
        if remote.REMOTE_PREFIX in reason:  # its numbers would narrow down the venue's city
            reason = "a secondary venue's group cannot be filled"
        _fail(
            session,
            d,
            actor=actor.username,
            supervisor=supervisor_name,
            code=code,
            reason=reason,
            now=now,
        )
        session.commit()
        return d
    commit = draw.Commit.from_json(commit_doc)
    result = draw.DrawResult.from_json(outcome.result)
    sealed = draw.build_sealed(commit, witnesses, None, result, secret)
    sealed_signature = draw.sign_sealed(sealed, signer)
    sealed_bytes = draw.canonical_json(sealed.to_json())
    draw_ledger.append_entry(
        session,
        draw_id=d.draw_id,
        project_id=d.project_id,
        kind=LedgerKind.SEALED,
        payload={
            "draw_id": d.draw_id,
            "sealed_digest": draw.canonical_digest(sealed.to_json()),
            "sealed_enc": base64.b64encode(
                sealing.seal_record(d, keys, "sealed-ledger", sealed_bytes)
            ).decode("ascii"),
        },
        operator=actor.username,
        supervisor=supervisor_name,
        terminal_id=terminal.id,
        signature=sealed_signature,
        key_id=key_id,
        request_id=d.request_id,
    )
    d.sealed_enc = sealing.seal_record(d, keys, "sealed", sealed_bytes)
    d.sealed_signature = sealed_signature
    d.result_enc = sealing.seal_value(
        sealing.draw_key(d, keys), d.draw_id, "result", draw.canonical_json(result.to_json())
    )
    d.status, d.drawn_at = DrawStatus.SEALED, now
    d.request.status = DrawRequestStatus.SEALED
    project = must_exist(session.get(Project, d.project_id))
    if project.status is ProjectStatus.READY:
        projects.mark_drawn(session, actor=actor.username, project=project)
    audit.record(
        session,
        actor=actor.username,
        action="draw.sealed",
        object_type="draw",
        object_id=d.draw_id,
        after={
            "result_digest": sealed.result_digest,
            "supervisor": supervisor_name,
            "attempt": result.attempt,
        },
    )
    panels.invite_primaries(session, d, result, employers=outcome.employers, now=now, ctx=ctx)
    events.emit(
        session,
        centre_id=project.owner_centre_id,
        event_type="draw.sealed",
        data={
            "project_id": d.project_id,
            "draw_request_id": d.request_id,
            "draw_id": d.draw_id,
            "status": DrawStatus.SEALED.value,
        },
        now=now,
    )
    session.commit()
    return d


def abandon_draw(
    session: Session, *, draw_id: str, actor: User, reason: str, now: datetime
) -> Draw:
    """Close a commitment without drawing; it stays in the ledger with the reason; commits."""
    d = get_draw(session, draw_id, lock=True)
    project = must_exist(session.get(Project, d.project_id))
    if actor.role is not UserRole.CENTRE_STAFF or actor.centre_id != project.owner_centre_id:
        raise Forbidden(str(_l("You may act only for your own centre.")), code="outside_centre")
    clean = (reason or "").strip()
    if not clean or len(clean) > 500:
        raise ValidationFailed(
            fields={"reason": str(_l("Give the reason (at most 500 characters)."))}
        )
    if d.status is not DrawStatus.COMMITTED:
        raise Conflict(
            str(_l("Only a commitment not yet drawn can be abandoned.")), code="draw_closed"
        )
    draw_ledger.append_entry(
        session,
        draw_id=d.draw_id,
        project_id=d.project_id,
        kind=LedgerKind.ABANDONED,
        payload={"draw_id": d.draw_id, "reason": clean},
        operator=actor.username,
        terminal_id=d.terminal_id,
        request_id=d.request_id,
    )
    d.status, d.reason, d.closed_at = DrawStatus.ABANDONED, clean, now
    d.request.status = DrawRequestStatus.ABANDONED
    audit.record(
        session,
        actor=actor.username,
        action="draw.abandon",
        object_type="draw",
        object_id=d.draw_id,
        after={"reason": clean},
    )
    session.commit()
    return d


# Opening and export -------------------------------------------------------------------------------


def open_draw(
    session: Session,
    *,
    draw_id: str,
    actor: User,
    supervisor_username: str,
    supervisor_password: str,
    keys: KeyStore,
    now: datetime,
) -> Draw:
    """Open a sealed draw at the session start: centre staff of the main venue plus a supervisor;
    commits.

    The result is checked against the sealed digest, and the secret and result go to the ledger.
    """
    d = get_draw(session, draw_id, lock=True)
    project = must_exist(session.get(Project, d.project_id))
    supervisor = authenticate_openers(
        session,
        project=project,
        actor=actor,
        supervisor_username=supervisor_username,
        supervisor_password=supervisor_password,
        label=draw_id,
    )
    open_sealed(session, d, actor=actor, supervisor=supervisor, keys=keys, now=now)
    session.commit()
    return d


def authenticate_openers(
    session: Session,
    *,
    project: Project,
    actor: User,
    supervisor_username: str,
    supervisor_password: str,
    label: str,
) -> User:
    """Check the two people who open: staff of the main venue's centre and a supervisor of the
    project's department (another person), authenticated here. A wrong password is recorded in the
    audit trail (committed) and refused."""
    if actor.role is not UserRole.CENTRE_STAFF or actor.centre_id != project.main_centre_id:
        raise Forbidden(
            str(_l("The session is opened by staff of the main venue's centre.")), code="not_host"
        )
    return check_supervisor(
        session,
        project=project,
        username=supervisor_username,
        password=supervisor_password,
        not_ids={actor.id},
        label=label,
        context={"step": "open"},
    )


def supervisors_of(session: Session, project: Project) -> list[User]:
    """The active supervisors whose department supervises the project: those a terminal offers
    to choose from (by name and username, never more)."""
    candidates = session.execute(
        select(User)
        .where(User.role == UserRole.SUPERVISOR, User.is_active.is_(True))
        .order_by(User.display_name, User.username)
    ).scalars()
    return [u for u in candidates if projects.supervises(session, u, project)]


def check_supervisor(
    session: Session,
    *,
    project: Project,
    username: str,
    password: str,
    not_ids: set[int | None],
    label: str,
    context: dict[str, str],
) -> User:
    """The supervisor of `project` with this username and password, checked at a terminal.

    A wrong password, an account that is not a supervisor, a supervisor of another department
    and a person who may not act twice (`not_ids`: the operator, the host) are all refused with
    the same `supervisor_refused` and the same words, so that the terminal tells nobody which
    accounts exist or what they are; the audit trail keeps the real reason (committed). The
    password is always checked first, so that the time taken says nothing either.
    """
    reason = None
    try:
        supervisor = users.authenticate(session, (username or "").strip(), password or "")
    except Unauthenticated:
        reason = "bad_credentials"
    else:
        if supervisor.id in not_ids:
            reason = "same_person"
        elif not projects.supervises(session, supervisor, project):
            reason = "not_supervising"
    if reason is None:
        return supervisor
    audit.record(
        session,
        actor=(username or "?")[:100],
        action="draw.supervisor_refused",
        object_type="draw",
        object_id=label,
        after={"reason": reason, **context},
    )
    session.commit()
    raise Forbidden(str(_l("Wrong supervisor username or password.")), code="supervisor_refused")


def open_sealed(
    session: Session, d: Draw, *, actor: User, supervisor: User, keys: KeyStore, now: datetime
) -> None:
    """Open one sealed draw in the caller's transaction (the caller commits): check the result
    against the sealed record, record the opening in the ledger and the audit trail."""
    project = must_exist(session.get(Project, d.project_id))
    if d.status is not DrawStatus.SEALED:
        raise Conflict(str(_l("Only a sealed draw can be opened, once.")), code="not_sealed")
    if now < d.request.evaluation_start_at - OPENING_LEAD:
        raise Conflict(
            str(_l("The panel opens only at the start of the session.")), code="too_early"
        )
    result = sealing.open_result(d, keys)
    secret = sealing.open_secret(d, keys)
    sealed = sealing.open_sealed(d, keys) or {}
    if draw.result_digest(secret, result) != sealed.get("result_digest"):
        raise Conflict(
            str(_l("The stored result does not match the sealed record.")), code="seal_mismatch"
        )
    opened: dict[str, Any] = {"draw_id": d.draw_id, "result_digest": sealed.get("result_digest")}
    pick = remote.reveal(session, d.request, keys)
    if pick is not None:
        # The secondary venues' pick is revealed: the whole document, for the auditor to
        # recompute against the digests the `pick` entry recorded (`remote.verify_pick`).
        opened["remote_pick"] = pick
    draw_ledger.append_entry(
        session,
        draw_id=d.draw_id,
        project_id=d.project_id,
        kind=LedgerKind.OPENED,
        # The result stays sealed until the close: the ledger records that the panel was opened
        # and checked against the sealed record, not who is on it.
        payload=opened,
        operator=actor.username,
        supervisor=supervisor.username,
        request_id=d.request_id,
    )
    d.status, d.opened_at = DrawStatus.OPENED, now
    d.opened_by_id, d.opened_supervisor_id = actor.id, supervisor.id
    if project.status is ProjectStatus.DRAWN:
        project.status = ProjectStatus.OPENED
    events.emit(
        session,
        centre_id=project.owner_centre_id,
        event_type="panel.opened",
        data={
            "project_id": d.project_id,
            "draw_request_id": d.request_id,
            "draw_id": d.draw_id,
            "status": DrawStatus.OPENED.value,
        },
        now=now,
    )
    audit.record(
        session,
        actor=actor.username,
        action="draw.open",
        object_type="draw",
        object_id=d.draw_id,
        after={"supervisor": supervisor.username, "decrypted": ["secret", "result"]},
    )


def opened_check(session: Session, d: Draw, keys: KeyStore) -> dict[str, Any]:
    """For the session's supervisors at opening: the panel against the sealed record.

    The result is decrypted and its digest recomputed with the secret (draw-v1 §8); it must equal
    the `result_digest` the sealed record signed at draw time. Each group's primaries and backups
    follow in rank order, named, so the supervisors see that the invited experts are exactly the
    drawn ones in the drawn order. Recorded in the audit trail; commits.
    """
    if d.status is not DrawStatus.OPENED:
        raise Forbidden(str(_l("Names are shown only after the session opens.")), code="not_opened")
    result = sealing.open_result(d, keys)
    secret = sealing.open_secret(d, keys)
    sealed = sealing.open_sealed(d, keys) or {}
    digest = draw.result_digest(secret, result)
    ids = {int(e) for g in result.groups for e in (*g.primaries, *g.backups)}
    names = dict(session.execute(select(Expert.id, Expert.name).where(Expert.id.in_(ids))).all())
    audit.record(
        session,
        actor="draw",
        action="draw.opened_check",
        object_type="draw",
        object_id=d.draw_id,
        after={"matches": digest == sealed.get("result_digest")},
    )
    session.commit()
    return {
        "result_digest": digest,
        "sealed_digest": sealed.get("result_digest"),
        "matches": digest == sealed.get("result_digest"),
        "groups": [
            {
                "group": g.group,
                "primaries": [names.get(int(e), e) for e in g.primaries],
                "backups": [names.get(int(e), e) for e in g.backups],
            }
            for g in result.groups
        ],
    }


def transcript_waits_for(session: Session, d: Draw, keys: KeyStore) -> list[str]:
    """The draws and projects, still open, whose bookings or invitations shaped `d`'s snapshot.

    The transcript lists every candidate's `available` and `recent_draws`: released while one of
    those draws is sealed or opened, it would tell who that draw booked or invited. A draw made
    before this was recorded waits for its own project's close instead.
    """
    if d.shaped_enc is None:
        own = session.get(Project, d.project_id)
        return [] if own is not None and own.status.is_closed else [d.draw_id]
    shaped: list[str] = json.loads(
        sealing.open_value(sealing.draw_key(d, keys), d.draw_id, "shaped", d.shaped_enc)
    )
    draw_ids = [x.split(":", 1)[1] for x in shaped if x.startswith("draw:")]
    project_ids = {int(x.split(":", 1)[1]) for x in shaped if x.startswith("project:")}
    if draw_ids:
        project_ids |= set(
            session.execute(select(Draw.project_id).where(Draw.draw_id.in_(draw_ids))).scalars()
        )
    open_ = session.execute(
        select(Project.id).where(
            Project.id.in_(project_ids), Project.status.not_in(CLOSED_STATUSES)
        )
    ).scalars()
    return [f"project:{p}" for p in open_]


def transcript(session: Session, *, draw_id: str, actor: str, keys: KeyStore) -> dict[str, Any]:
    """The full draw-v1 transcript of an opened draw (each export in the audit trail); commits."""
    d = get_draw(session, draw_id)
    if d.status is not DrawStatus.OPENED:
        raise Conflict(
            str(_l("The transcript is released only after the session opens.")), code="not_opened"
        )
    waiting = transcript_waits_for(session, d, keys)
    if waiting:
        raise Conflict(
            str(
                _l(
                    "The transcript is released once every draw whose bookings or invitations"
                    " shaped it is closed."
                )
            ),
            code="transcript_withheld",
        )
    with no_gc():
        t = draw.Transcript(
            request=draw.DrawRequest.from_json(sealing.open_request(d, keys)),
            candidates=load_snapshot(d, keys),
            secret=sealing.open_secret(d, keys),
            commit=draw.Commit.from_json(sealing.open_commit(d, keys)),
            witnesses=tuple((sealing.open_sealed(d, keys) or {}).get("witnesses", ())),
            beacon=None,
            result=sealing.open_result(d, keys),
            public_key=d.public_key,
            commit_signature=d.commit_signature,
            sealed_signature=d.sealed_signature or "",
        )
        out = t.to_json()
    audit.record(
        session, actor=actor, action="draw.export", object_type="draw", object_id=draw_id, after={}
    )
    session.commit()
    return out
