"""Per-session statements: what each expert is owed, tax withheld and net, made after the close;
adjustments (a reason, a supervisor's approval) and reversals of lines.

A statement is made only once the project has closed (awarded, failed or cancelled; a session
without a project once its room is archived), so its rows may name the experts: before the
close nothing here writes or shows anything about a session's members.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import extract, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from expertpool.accounts.models import Centre, User, UserRole
from expertpool.core import audit
from expertpool.core.calendar import cst_date
from expertpool.core.db import utcnow
from expertpool.core.errors import Conflict, Forbidden, NotFound, ValidationFailed
from expertpool.core.keys import KeyStore
from expertpool.core.texts import _l
from expertpool.experts.models import Expert
from expertpool.fees import schedules
from expertpool.fees.attendance import SessionFacts, session_facts
from expertpool.fees.models import (
    AdjustmentStatus,
    FeeAdjustment,
    FeeLine,
    FeeStatement,
    LineKind,
    LineStatus,
)
from expertpool.fees.money import AmountError, parse_yuan, to_fen, yuan
from expertpool.fees.schedule import Attendance, Outcome, fee_at_higher
from expertpool.projects.models import Project
from expertpool.projects.projects import require_reader
from expertpool.rooms.models import EvaluationSession

ADJUSTABLE = (LineStatus.UNPAID, LineStatus.FAILED)
"""Only a line not paid and not in a batch changes; a paid line is reversed instead."""


def minutes_served(checked_in_at: datetime, left_at: datetime | None, closed_at: datetime) -> int:
    """Whole minutes from check-in to leaving or the close, whichever is first; a started minute
    counts."""
    end = min(left_at, closed_at) if left_at is not None else closed_at
    seconds = (end - checked_in_at).total_seconds()
    return max(0, -int(-seconds // 60))


def _evaluation_day(row: EvaluationSession, facts: SessionFacts) -> date:
    times = [m.checked_in_at for m in facts.members if m.checked_in_at is not None]
    first = min(times) if times else (row.starts_at or facts.closed_at)
    assert first is not None
    return cst_date(first)


def statement_of_session(session: Session, session_id: int) -> FeeStatement | None:
    """The statement of one session, if made."""
    return session.execute(
        select(FeeStatement).where(FeeStatement.session_id == session_id)
    ).scalar_one_or_none()


def make_statement(
    session: Session, row: EvaluationSession, keys: KeyStore, *, actor: str, now: datetime | None
) -> FeeStatement:
    """Compute and store a closed session's statement (once; a second call returns it); commits.

    Refused with `Conflict` before the close: the statement names the experts.
    """
    existing = statement_of_session(session, row.id)
    if existing is not None:
        return existing
    facts = session_facts(session, row, keys)
    if facts.outcome == "open" or facts.closed_at is None:
        raise Conflict(str(_l("Fees are settled after the project's close.")), code="not_closed")
    closed_at = facts.closed_at
    day = _evaluation_day(row, facts)
    host, host_number = schedules.schedule_for(session, facts.host_region, day)
    tax_rule, tax_number = schedules.tax_rule_for(session, day)
    project = facts.project
    centre = (
        project.owner_centre
        if project is not None
        else session.execute(
            select(Centre).where(Centre.region_code == (facts.host_region or ""))
        ).scalar_one_or_none()
    )
    if host.payer == "tenderer" and project is not None:
        payer_kind, payer_name, payer_code = (
            "tenderer",
            project.tenderer_name,
            project.tenderer_code,
        )
    else:
        payer_kind, payer_name, payer_code = "centre", (centre.name if centre else host.name), ""
    statement = FeeStatement(
        session_id=row.id,
        project_id=row.project_id,
        centre_id=centre.id if centre else None,
        title=row.title,
        host_scope=host.scope,
        payer_kind=payer_kind,
        payer_name=payer_name,
        payer_code=payer_code,
        outcome=facts.outcome,
        evaluation_on=day,
        closed_at=closed_at,
        tax_version=tax_number,
        created_by=actor,
        created_at=now or utcnow(),
    )
    outcome = Outcome(facts.outcome)
    for m in facts.members:
        if m.checked_in_at is None:
            continue  # never arrived: nothing is owed
        minutes = minutes_served(m.checked_in_at, m.left_at, closed_at)
        home_region = session.execute(
            select(Expert.home_region).where(Expert.user_id == m.user_id)
        ).scalar_one_or_none()
        home = schedules.schedule_for(session, home_region, day) if home_region else None
        attendance = Attendance(
            minutes=minutes,
            is_leader=m.is_leader,
            is_offsite=bool(home_region and m.venue_region and home_region != m.venue_region),
            outcome=outcome,
        )
        fee = fee_at_higher(host, home[0] if home else None, attendance)
        number = host_number if fee.scope == host.scope or home is None else home[1]
        gross = fee.gross
        tax = tax_rule.withheld(gross)
        statement.lines.append(
            FeeLine(
                user_id=m.user_id,
                expert_name=m.name,
                participant_id=m.participant_id,
                is_leader=m.is_leader,
                venue_id=m.venue_id,
                checked_in_at=m.checked_in_at,
                left_at=m.left_at,
                minutes=minutes,
                schedule_scope=fee.scope,
                schedule_number=number,
                duration_fen=to_fen(fee.duration_fee),
                leader_fen=to_fen(fee.leader_supplement),
                allowances_fen=to_fen(fee.allowances),
                gross_fen=to_fen(gross),
                tax_fen=to_fen(tax),
                net_fen=to_fen(gross - tax),
            )
        )
    session.add(statement)
    try:
        session.flush()
    except IntegrityError:
        # Made meanwhile by someone else (one statement per session): that one stands.
        session.rollback()
        made = statement_of_session(session, row.id)
        if made is None:
            raise
        return made
    audit.record(
        session,
        actor=actor,
        action="fees.statement_made",
        object_type="fee_statement",
        object_id=statement.id,
        after={
            "session": row.room_id,
            "lines": len(statement.lines),
            "gross_fen": sum(line.gross_fen for line in statement.lines),
            "host_schedule": f"{host.scope}/{host_number}",
            "tax_version": tax_number,
        },
    )
    session.commit()
    return statement


def make_due_statements(session: Session, keys: KeyStore, *, actor: str) -> int:
    """Make the statement of every closed session that has none; commits. Returns how many."""
    made = 0
    done = set(session.execute(select(FeeStatement.session_id)).scalars())
    for row in session.execute(select(EvaluationSession).order_by(EvaluationSession.id)).scalars():
        if row.id in done:
            continue
        try:
            make_statement(session, row, keys, actor=actor, now=None)
        except Conflict:
            continue
        made += 1
    return made


def all_statements(session: Session) -> list[FeeStatement]:
    """Every statement, newest first (pages keep those the reader may see)."""
    return list(session.execute(select(FeeStatement).order_by(FeeStatement.id.desc())).scalars())


def get_statement(session: Session, statement_id: int) -> FeeStatement:
    """A statement by id, or `NotFound`."""
    row = session.get(FeeStatement, statement_id)
    if row is None:
        raise NotFound(str(_l("No such statement.")))
    return row


def get_line(session: Session, line_id: int) -> FeeLine:
    """A line by id, or `NotFound`."""
    line = session.get(FeeLine, line_id)
    if line is None:
        raise NotFound(str(_l("No such fee line.")))
    return line


def _require_settler(actor: User, line: FeeLine) -> None:
    """Only the staff of the centre that settles the statement act on its lines."""
    if actor.role is not UserRole.CENTRE_STAFF or actor.centre_id != line.statement.centre_id:
        raise Forbidden(str(_l("Only the settling centre's staff act on these fees.")))


def record_reading(session: Session, actor: User, statement: FeeStatement) -> None:
    """Put a reading of a statement (it names experts) on the audit trail; commits."""
    audit.record(
        session,
        actor=actor.username,
        action="fees.statement_read",
        object_type="fee_statement",
        object_id=statement.id,
        after={"role": actor.role.value},
    )
    session.commit()


def _retax(session: Session, line: FeeLine) -> None:
    rule, _number = schedules.tax_rule_for(session, line.statement.evaluation_on)
    gross = yuan(line.duration_fen + line.leader_fen + line.allowances_fen + line.adjustment_fen)
    tax = rule.withheld(gross)
    line.gross_fen, line.tax_fen, line.net_fen = to_fen(gross), to_fen(tax), to_fen(gross - tax)


def request_adjustment(
    session: Session, *, actor: User, line_id: int, amount: str, reason: str
) -> FeeAdjustment:
    """Centre staff (or an administrator) ask to change an unpaid line's gross by `amount`
    yuan, with a reason; a supervisor decides. Audited; commits."""
    line = get_line(session, line_id)
    _require_settler(actor, line)
    fields: dict[str, str] = {}
    try:
        value = parse_yuan(amount, allow_negative=True)
    except AmountError:
        fields["amount"] = str(_l("An amount in yuan, e.g. 120 or -50.50."))
        value = Decimal(0)
    else:
        if value == 0:
            fields["amount"] = str(_l("An adjustment changes the amount."))
        elif line.gross_fen + to_fen(value) < 0:
            fields["amount"] = str(_l("The fee would fall below zero."))
    clean = (reason or "").strip()
    if len(clean) < 5 or len(clean) > 1000:
        fields["reason"] = str(_l("Give the reason (5 to 1000 characters)."))
    if line.kind is not LineKind.FEE or line.status not in ADJUSTABLE:
        fields["line"] = str(_l("Only an unpaid fee line is adjusted; reverse a paid one."))
    if fields:
        raise ValidationFailed(fields=fields)
    adj = FeeAdjustment(
        line_id=line.id, amount_fen=to_fen(value), reason=clean, requested_by=actor.username
    )
    session.add(adj)
    session.flush()
    audit.record(
        session,
        actor=actor.username,
        action="fees.adjustment_requested",
        object_type="fee_line",
        object_id=line.id,
        after={"adjustment": adj.id, "amount_fen": adj.amount_fen, "reason": clean},
    )
    session.commit()
    return adj


def decide_adjustment(
    session: Session, *, actor: User, adjustment_id: int, approve: bool
) -> FeeAdjustment:
    """A supervisor approves (the line's gross, tax and net are recomputed) or rejects a pending
    adjustment. Audited; commits."""
    adj = session.get(FeeAdjustment, adjustment_id)
    if adj is None:
        raise NotFound()
    if adj.status is not AdjustmentStatus.PENDING:
        raise Conflict(str(_l("This adjustment was already decided.")))
    line = get_line(session, adj.line_id)
    _require_supervisor_of(session, actor, line.statement)
    before = {"gross_fen": line.gross_fen, "tax_fen": line.tax_fen, "net_fen": line.net_fen}
    if approve:
        if line.status not in ADJUSTABLE or line.gross_fen + adj.amount_fen < 0:
            raise Conflict(str(_l("The line can no longer be adjusted.")))
        line.adjustment_fen += adj.amount_fen
        _retax(session, line)
    adj.status = AdjustmentStatus.APPROVED if approve else AdjustmentStatus.REJECTED
    adj.decided_by, adj.decided_at = actor.username, utcnow()
    audit.record(
        session,
        actor=actor.username,
        action="fees.adjustment_approved" if approve else "fees.adjustment_rejected",
        object_type="fee_line",
        object_id=line.id,
        before=before,
        after={
            "adjustment": adj.id,
            "amount_fen": adj.amount_fen,
            "gross_fen": line.gross_fen,
            "tax_fen": line.tax_fen,
            "net_fen": line.net_fen,
        },
    )
    session.commit()
    return adj


def _require_supervisor_of(session: Session, actor: User, statement: FeeStatement) -> None:
    """A supervisor of the statement's project (any supervisor for a session without one)."""
    if actor.role is not UserRole.SUPERVISOR:
        raise Forbidden(str(_l("A supervisor decides adjustments.")))
    if statement.project_id is not None:
        project = session.get(Project, statement.project_id)
        if project is None:
            raise NotFound()
        require_reader(session, actor, project)


def pending_adjustments(session: Session, actor: User) -> list[FeeAdjustment]:
    """Adjustments waiting for this supervisor (of the projects they supervise), oldest first."""
    out = []
    for adj in session.execute(
        select(FeeAdjustment)
        .where(FeeAdjustment.status == AdjustmentStatus.PENDING)
        .order_by(FeeAdjustment.id)
    ).scalars():
        try:
            _require_supervisor_of(session, actor, get_line(session, adj.line_id).statement)
        except (Forbidden, NotFound):
            continue
        out.append(adj)
    return out


def reverse_line(
    session: Session, *, actor: User, line_id: int, reason: str, reissue: bool
) -> FeeLine:
    """Reverse a paid line by a new line of the opposite amounts (the paid line itself never
    changes); with `reissue`, a fresh unpaid copy follows, to adjust and pay again. Audited;
    commits. Returns the reversal line."""
    line = get_line(session, line_id)
    _require_settler(actor, line)
    clean = (reason or "").strip()
    if len(clean) < 5 or len(clean) > 500:
        raise ValidationFailed(fields={"reason": str(_l("Give the reason (5 to 500 characters)."))})
    if line.kind is not LineKind.FEE or line.status is not LineStatus.PAID:
        raise Conflict(str(_l("Only a paid fee line is reversed.")))
    if session.execute(select(FeeLine.id).where(FeeLine.reverses_id == line.id)).first():
        raise Conflict(str(_l("This line was already reversed.")))

    def copy(sign: int, kind: LineKind, status: LineStatus) -> FeeLine:
        return FeeLine(
            statement_id=line.statement_id,
            user_id=line.user_id,
            expert_name=line.expert_name,
            participant_id=line.participant_id,
            is_leader=line.is_leader,
            venue_id=line.venue_id,
            checked_in_at=line.checked_in_at,
            left_at=line.left_at,
            minutes=line.minutes,
            schedule_scope=line.schedule_scope,
            schedule_number=line.schedule_number,
            duration_fen=sign * line.duration_fen,
            leader_fen=sign * line.leader_fen,
            allowances_fen=sign * line.allowances_fen,
            adjustment_fen=sign * line.adjustment_fen,
            gross_fen=sign * line.gross_fen,
            tax_fen=sign * line.tax_fen,
            net_fen=sign * line.net_fen,
            kind=kind,
            status=status,
            reverses_id=line.id if kind is LineKind.REVERSAL else None,
            failure_reason=clean if kind is LineKind.REVERSAL else "",
        )

    reversal = copy(-1, LineKind.REVERSAL, LineStatus.RECORDED)
    session.add(reversal)
    fresh = copy(1, LineKind.FEE, LineStatus.UNPAID) if reissue else None
    if fresh is not None:
        session.add(fresh)
    session.flush()
    audit.record(
        session,
        actor=actor.username,
        action="fees.line_reversed",
        object_type="fee_line",
        object_id=line.id,
        after={
            "reversal": reversal.id,
            "reissued": fresh.id if fresh else None,
            "reason": clean,
        },
    )
    session.commit()
    return reversal


def is_reversed(session: Session, line: FeeLine) -> bool:
    """Whether a reversal line cancels `line`."""
    return (
        session.execute(select(FeeLine.id).where(FeeLine.reverses_id == line.id)).first()
        is not None
    )


@dataclass(frozen=True)
class YearSummary:
    """An expert's fees of one calendar year (evaluation day in CST)."""

    year: int
    sessions: int
    gross: Decimal
    tax: Decimal
    net: Decimal
    paid: Decimal
    unpaid: Decimal


def own_lines(session: Session, user_id: int, year: int | None = None) -> list[FeeLine]:
    """An expert's own lines (reversals included), newest session first."""
    stmt = (
        select(FeeLine)
        .join(FeeStatement)
        .where(FeeLine.user_id == user_id)
        .order_by(FeeStatement.evaluation_on.desc(), FeeLine.id)
    )
    if year is not None:
        stmt = stmt.where(extract("year", FeeStatement.evaluation_on) == year)
    return list(session.execute(stmt).scalars())


def year_summaries(lines: list[FeeLine]) -> list[YearSummary]:
    """Totals per year of an expert's lines (a reversal counts against its year)."""
    by_year: dict[int, list[FeeLine]] = defaultdict(list)
    for line in lines:
        by_year[line.statement.evaluation_on.year].append(line)
    out = []
    for year in sorted(by_year, reverse=True):
        rows = by_year[year]
        paid = sum(r.net_fen for r in rows if r.status is LineStatus.PAID)
        open_ = sum(
            r.net_fen
            for r in rows
            if r.status in (LineStatus.UNPAID, LineStatus.IN_BATCH, LineStatus.FAILED)
        )
        out.append(
            YearSummary(
                year=year,
                sessions=len({r.statement_id for r in rows if r.kind is LineKind.FEE}),
                gross=yuan(sum(r.gross_fen for r in rows)),
                tax=yuan(sum(r.tax_fen for r in rows)),
                net=yuan(sum(r.net_fen for r in rows)),
                paid=yuan(paid),
                unpaid=yuan(open_),
            )
        )
    return out
