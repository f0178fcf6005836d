"""Terms of service in the pool: started at approval, renewed by a reviewer inside the renewal
window, and ended by the calendar (the draw treats an expired term as undrawable).

The lengths come from the pool rules (`pool_rules.py`, versioned data with sources). A renewal is a
reviewer's decision on the expert's record; it extends the term from its old end (or from the day
of the decision when the term has already run out).
"""

from __future__ import annotations

from datetime import date, timedelta
from functools import cache

from sqlalchemy.orm import Session

from expertpool.accounts.models import User, UserRole
from expertpool.core import audit
from expertpool.core.calendar import cst_date
from expertpool.core.config import Config
from expertpool.core.db import utcnow
from expertpool.core.errors import Conflict, Forbidden
from expertpool.core.texts import translated
from expertpool.departments import scope
from expertpool.experts import records
from expertpool.experts.models import Expert, ExpertStatus
from expertpool.experts.pool_rules import PoolRules, load_pool_rules

S = ExpertStatus
RENEWABLE = (S.ACTIVE, S.ON_LEAVE, S.SUSPENDED)
_one_day = timedelta(days=1)


@cache
def _rules_at(path: str) -> PoolRules:
    return load_pool_rules(path)


def rules_for(config: Config) -> PoolRules:
    """The pool rules a site uses (its file, or the bundled one), read once per file."""
    return _rules_at(config.pool_rules_file)


def start_term(expert: Expert, rules: PoolRules, day: date) -> None:
    """Begin a first term on `day` (at approval)."""
    expert.term_ends_on = rules.term_end(day)


def renewal_is_open(expert: Expert, rules: PoolRules, today: date) -> bool:
    """Whether a renewal may be decided today: inside the window before the end, or after it."""
    if expert.term_ends_on is None:
        return False
    return today >= rules.renewal_opens(expert.term_ends_on)


def renew_term(
    session: Session,
    *,
    reviewer: User,
    expert_id: int,
    rules: PoolRules,
    today: date | None = None,
    opinion: str = "",
) -> Expert:
    """Renew an expert's term on a passed assessment; audited; commits.

    Refused before the renewal window opens, and for an expert outside the pool (retired,
    removed). The reviewer's scope is the one that decides the expert's applications.
    """
    today = today or cst_date(utcnow())
    expert = records.get_expert(session, expert_id)
    if reviewer.role is not UserRole.REVIEWER:
        raise Forbidden()
    scope.require_review(session, reviewer, expert.specialty_codes, expert.home_region)
    if expert.status not in RENEWABLE:
        raise Conflict(
            str(translated("Only an expert in the pool can be renewed.")), code="not_renewable"
        )
    if not renewal_is_open(expert, rules, today):
        raise Conflict(
            str(translated("The renewal window has not opened yet.")), code="renewal_not_open"
        )
    with records.guarded(session):
        before = expert.term_ends_on
        start = before + _one_day if before is not None and before >= today else today
        expert.term_ends_on = rules.term_end(start)
        session.flush()
        audit.record(
            session,
            actor=reviewer.username,
            action="expert.term_renewed",
            object_type="expert",
            object_id=expert.id,
            before={"term_ends_on": before.isoformat() if before else None},
            after={
                "term_ends_on": expert.term_ends_on.isoformat(),
                "opinion": (opinion or "").strip()[:500],
                "rules_version": rules.version,
            },
        )
        session.commit()
    return expert
