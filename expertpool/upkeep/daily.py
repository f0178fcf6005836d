"""One day's upkeep of the pool, run at most once per day (China Standard Time).

A run claims its day by inserting the `maintenance_run` row in the same transaction as every
change it makes: a second run for the same day (another process, a restart, the command by hand)
fails on the primary key and changes nothing. A run closes the last training year on its first
run of a new year (lapses suspend, then remove), applies the expert lifecycle's dated moves (age
cap, leave starting and ending, suspensions ending), records the terms that ended, queues the SMS
reminders of terms whose renewal window opened and of training years closing short of hours, and
audits itself with its counts.

Nothing here touches open draws or invitations: the counts are about the pool as a whole, so no
run reveals who was drawn for anything. It also posts the assessments of sessions whose project
has closed and whose rating window ended (`record/assessment.py`; closed projects only) and, on
the first run of a year, resets credit (docs/record.md).
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

import notify
from draw import cjson
from expertpool.core import audit
from expertpool.core.calendar import CST
from expertpool.core.config import Config
from expertpool.experts import availability, publicity
from expertpool.experts.models import Expert, ExpertStatus, MaintenanceRun
from expertpool.experts.pool_rules import PoolRules
from expertpool.notifications.context import NotifyContext
from expertpool.notifications.models import OutboxChannel, OutboxKind, OutboxMessage
from expertpool.notifications.outbox import queue_message
from expertpool.record import assessment, credit
from expertpool.record.credit_rules import CreditRules, credit_rules_for
from expertpool.training.lapses import YearClose, close_year, short_of_hours
from expertpool.training.records import hours_by_expert

log = logging.getLogger(__name__)
S = ExpertStatus
IN_POOL = (S.ACTIVE, S.ON_LEAVE, S.SUSPENDED)


@dataclass(frozen=True)
class DailyReport:
    """What one day's run changed (counts only)."""

    day: date
    retired: int
    leave_started: int
    leave_ended: int
    suspensions_ended: int
    terms_expired: int
    term_reminders: int
    training_lapsed: int = 0
    training_suspended: int = 0
    training_removed: int = 0
    training_reminders: int = 0
    sessions_posted: int = 0
    credit_flags_cleared: int = 0
    publicity_activated: int = 0

    def counts(self) -> dict[str, int]:
        """The counts by name."""
        return {k: v for k, v in dataclasses.asdict(self).items() if k != "day"}


def term_reminder_sms(term_ends_on: date, language: str = "zh") -> str:
    """The SMS telling an expert that their term's renewal window is open (`notify`'s text)."""
    return notify.term_reminder_sms(term_ends_on, language)


def training_reminder_sms(year: int, hours: int, required: int, language: str = "zh") -> str:
    """The SMS telling an expert that the training year closes short of hours."""
    return notify.training_reminder_sms(year, hours, required, language)


def _first_run_of_year(session: Session, today: date) -> bool:
    """Whether no earlier day of `today`'s year has run (the closed year is decided then)."""
    return (
        session.execute(
            select(MaintenanceRun.day).where(
                MaintenanceRun.day >= date(today.year, 1, 1), MaintenanceRun.day < today
            )
        ).first()
        is None
    )


def _remind_training(
    session: Session, ctx: NotifyContext | None, rules: PoolRules, today: date
) -> int:
    """In the last `training_reminder_days` of a year: one SMS per expert short of hours."""
    year_end = date(today.year, 12, 31)
    if ctx is None or today < year_end - timedelta(days=rules.training_reminder_days):
        return 0
    hours = hours_by_expert(session, today.year)
    count = 0
    for expert in short_of_hours(session, rules=rules, year=today.year):
        if expert.phone_enc is None:
            continue
        key = f"training-reminder:{expert.id}:{today.year}"
        if session.execute(
            select(OutboxMessage.id).where(OutboxMessage.idempotency_key == key)
        ).first():
            continue
        phone = ctx.cipher.decrypt(
            expert.phone_enc, table="expert", row_id=expert.id, column="phone"
        )
        queue_message(
            session,
            ctx,
            key=key,
            channel=OutboxChannel.SMS,
            kind=OutboxKind.POOL_REMINDER_SMS,
            to=phone,
            message=notify.Message(
                notify.MessageKind.TRAINING_REMINDER,
                {
                    "year": str(today.year),
                    "hours": str(hours.get(expert.id, 0)),
                    "required": str(rules.training_hours_per_year),
                },
            ),
        )
        count += 1
    return count


def _expire_terms(session: Session, today: date, actor: str) -> int:
    """Audit each term that ended yesterday (the draw already treats it as expired)."""
    ended = today - timedelta(days=1)
    count = 0
    for expert_id in session.execute(
        select(Expert.id)
        .where(Expert.status.in_(IN_POOL), Expert.term_ends_on == ended)
        .order_by(Expert.id)
    ).scalars():
        audit.record(
            session,
            actor=actor,
            action="maintenance.term_expired",
            object_type="expert",
            object_id=expert_id,
            after={"term_ends_on": ended.isoformat()},
        )
        count += 1
    return count


def _remind_terms(
    session: Session, ctx: NotifyContext | None, rules: PoolRules, today: date
) -> int:
    """Queue one SMS per term whose reminder day has come and that has not ended yet.

    Each reminder's outbox key names the expert and the term's end, so it is queued once per term
    even when a day's run was missed and the next one catches up.
    """
    if ctx is None:
        return 0
    last = today + timedelta(days=rules.term_reminder_days)
    count = 0
    for expert in session.execute(
        select(Expert)
        .where(
            Expert.status.in_(IN_POOL),
            Expert.term_ends_on >= today,
            Expert.term_ends_on <= last,
            Expert.phone_enc.is_not(None),
        )
        .order_by(Expert.id)
    ).scalars():
        assert expert.term_ends_on is not None and expert.phone_enc is not None
        key = f"term-reminder:{expert.id}:{expert.term_ends_on.isoformat()}"
        if session.execute(
            select(OutboxMessage.id).where(OutboxMessage.idempotency_key == key)
        ).first():
            continue
        phone = ctx.cipher.decrypt(
            expert.phone_enc, table="expert", row_id=expert.id, column="phone"
        )
        queue_message(
            session,
            ctx,
            key=key,
            channel=OutboxChannel.SMS,
            kind=OutboxKind.POOL_REMINDER_SMS,
            to=phone,
            message=notify.Message(
                notify.MessageKind.TERM_REMINDER,
                {"term_ends_on": expert.term_ends_on.isoformat()},
            ),
        )
        count += 1
    return count


def has_run(session: Session, day: date) -> bool:
    """Whether the upkeep of `day` is done."""
    return session.get(MaintenanceRun, day) is not None


def run_daily(
    session: Session,
    *,
    config: Config,
    rules: PoolRules,
    today: date,
    ctx: NotifyContext | None = None,
    actor: str = "maintenance",
    credit_rules: CreditRules | None = None,
) -> DailyReport | None:
    """The upkeep of `today`, once: None when that day has already run; commits.

    `ctx` (the notification context) queues the reminders and, with its keys, posts the closed
    sessions whose rating window ended to the experts' records; without it neither happens. The
    first run of a year resets credit (the draw flags of low credit are recomputed).
    """
    if has_run(session, today):
        return None
    run = MaintenanceRun(day=today, actor=actor)
    session.add(run)
    try:
        # Claimed first: on PostgreSQL a concurrent run of the same day waits here for the other
        # transaction and then fails on the primary key.
        session.flush()
    except IntegrityError:
        session.rollback()
        return None
    first_of_year = _first_run_of_year(session, today)
    closed = (
        close_year(session, rules=rules, year=today.year - 1, today=today, actor=actor)
        if first_of_year
        else YearClose(0, 0, 0)
    )
    credit_rules = credit_rules or credit_rules_for(config)
    cleared = (
        credit.reset_year(session, rules=credit_rules, today=today, actor=actor)
        if first_of_year
        else 0
    )
    posted = (
        assessment.post_due(
            session,
            ctx.keys,
            credit_rules,
            now=datetime.combine(today, time(0, 0), tzinfo=CST),
            actor=actor,
            commit=False,
        )
        if ctx is not None
        else 0
    )
    moves = availability.apply_maintenance(session, config=config, today=today, actor=actor)
    report = DailyReport(
        day=today,
        retired=moves.retired,
        leave_started=moves.leave_started,
        leave_ended=moves.leave_ended,
        suspensions_ended=moves.suspensions_ended,
        terms_expired=_expire_terms(session, today, actor),
        term_reminders=_remind_terms(session, ctx, rules, today),
        training_lapsed=closed.lapsed,
        training_suspended=closed.suspended,
        training_removed=closed.removed,
        training_reminders=_remind_training(session, ctx, rules, today),
        sessions_posted=posted,
        credit_flags_cleared=cleared,
        publicity_activated=publicity.activate_after_publicity(
            session, rules=rules, today=today, actor=actor
        ),
    )
    run.report = cjson.dumps(report.counts()).decode("utf-8")
    audit.record(
        session,
        actor=actor,
        action="maintenance.run",
        object_type="maintenance",
        object_id=today.isoformat(),
        after={**report.counts(), "rules_version": rules.version},
    )
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        return None
    log.info("daily upkeep of %s: %s", today.isoformat(), report.counts())
    return report
