"""The expert lifecycle as one explicit state machine (docs/domain.md "Experts and the pool")."""

from __future__ import annotations

from expertpool.core.errors import TransitionRefused
from expertpool.core.texts import translated
from expertpool.experts.models import ExpertStatus

S = ExpertStatus

TRANSITIONS: dict[ExpertStatus, frozenset[ExpertStatus]] = {
    S.DRAFT: frozenset({S.SUBMITTED}),
    S.SUBMITTED: frozenset({S.UNDER_REVIEW}),
    S.UNDER_REVIEW: frozenset({S.RETURNED, S.IN_PUBLICITY, S.ACTIVE, S.REJECTED}),
    S.IN_PUBLICITY: frozenset({S.ACTIVE, S.REJECTED}),
    S.RETURNED: frozenset({S.SUBMITTED}),
    S.ACTIVE: frozenset({S.ON_LEAVE, S.SUSPENDED, S.RETIRED, S.REMOVED}),
    S.ON_LEAVE: frozenset({S.ACTIVE, S.SUSPENDED, S.RETIRED, S.REMOVED}),
    S.SUSPENDED: frozenset({S.ACTIVE, S.RETIRED, S.REMOVED}),
    S.REJECTED: frozenset(),
    S.RETIRED: frozenset(),
    S.REMOVED: frozenset(),
}


def can(current: ExpertStatus, target: ExpertStatus) -> bool:
    """Whether the lifecycle allows moving from `current` to `target`."""
    return target in TRANSITIONS[current]


def illegal(current: ExpertStatus, target: ExpertStatus | str) -> TransitionRefused:
    """The error for a refused move."""
    name = target.value if isinstance(target, ExpertStatus) else target
    return TransitionRefused(
        str(translated("An expert in state %(a)s cannot move to %(b)s.", a=current.value, b=name))
    )


def check(current: ExpertStatus, target: ExpertStatus) -> None:
    """Raise `TransitionRefused` unless the move is allowed."""
    if not can(current, target):
        raise illegal(current, target)
