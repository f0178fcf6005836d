"""The replacement order of draw-v1 §9: who is invited next when a seat of a group falls vacant."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum

from draw.errors import InvalidInput
from draw.model import DrawRequest, DrawResult


class SkipReason(StrEnum):
    """Why a backup was passed over."""

    ALREADY_INVITED = "already_invited"  # §9 (a): invited before for this draw, in any group
    REMOVED = "removed"  # removed from this draw: never invited again
    UNAVAILABLE = "unavailable"  # §9 (b): booked or on leave meanwhile
    SHARED_EMPLOYER = (
        "shared_employer"  # §9 (c): same employer as someone holding or invited to a seat
    )


@dataclass(frozen=True, slots=True)
class Skip:
    """A backup passed over, with the first reason that applied."""

    expert_id: str
    reason: SkipReason


@dataclass(frozen=True, slots=True)
class Replacement:
    """The next invitee for a group (None when its backups are exhausted) and the skips on the
    way.
    """

    group: str
    invitee: str | None
    skipped: tuple[Skip, ...]

    @property
    def is_exhausted(self) -> bool:
        """True when no backup is left: §9 then requires a new draw."""
        return self.invitee is None


def next_invitee(
    request: DrawRequest,
    result: DrawResult,
    group_id: str,
    employers: Mapping[str, str],
    *,
    invited: Collection[str],
    holding: Collection[str],
    unavailable: Collection[str] = (),
    removed: Collection[str] = (),
) -> Replacement:
    """Return the first backup of `group_id` that may be invited now (draw-v1 §9).

    - `employers` maps expert ids to employers ("" for none), e.g. `employers_of(candidates)`;
      it must cover the group's backups and everyone in `holding`.
    - `invited`: everyone invited for this draw so far, in any group, whatever the answer.
    - `holding`: everyone who currently holds a seat or has an invitation still open.
    - `unavailable`: experts booked or on leave since the draw.
    - `removed`: experts removed from this draw; they do not count as holding a seat.

    Backups are tried in rank order; each one passed over is reported with the first reason
    that applies, in the order already invited, removed, unavailable, shared employer.
    """
    backups = result.group(group_id).backups
    request.group(group_id)  # the group must exist in the request too
    invited_set = set(invited)
    removed_set = set(removed)
    unavailable_set = set(unavailable)
    taken: set[str] = set()
    if request.distinct_employers:
        for expert in set(holding) - removed_set:
            employer = _employer(employers, expert)
            if employer != "":
                taken.add(employer)
    skipped: list[Skip] = []
    for expert in backups:
        reason: SkipReason | None = None
        if expert in invited_set:
            reason = SkipReason.ALREADY_INVITED
        elif expert in removed_set:
            reason = SkipReason.REMOVED
        elif expert in unavailable_set:
            reason = SkipReason.UNAVAILABLE
        elif request.distinct_employers and _employer(employers, expert) in taken:
            reason = SkipReason.SHARED_EMPLOYER
        if reason is None:
            return Replacement(group_id, expert, tuple(skipped))
        skipped.append(Skip(expert, reason))
    return Replacement(group_id, None, tuple(skipped))


def _employer(employers: Mapping[str, str], expert: str) -> str:
    """The expert's employer, or InvalidInput when the caller did not supply it."""
    try:
        return employers[expert]
    except KeyError:
        raise InvalidInput("employers", f"no employer given for expert {expert!r}") from None


def redraw_exclusions(request: DrawRequest, invited: Iterable[str]) -> tuple[str, ...]:
    """`excluded_experts` for the new draw §9 requires: the old exclusions plus everyone invited."""
    return tuple(sorted(set(request.excluded_experts) | set(invited)))
