"""The conflict rules draw-v1 does not name, matched on strong keys and mapped onto its inputs.

draw-v1 knows statuses, `excluded_experts` and avoided organisations. The other rules of
docs/domain.md "Who may not serve" are decided here, at every draw (and again at check-in), from
ID numbers' blind indexes and unified social credit codes, never from names:

- a near relative the expert declared is a principal officer of a bidder: that bidder's credit
  code joins the expert's `avoid_orgs` (draw-v1 reason `avoidance_conflict`);
- the expert works, or worked inside the look-back window, for the project's supervising
  department (by its credit code): the candidate's status becomes `conflict`;
- the expert is recorded as having worked on the project's planning or design (by ID number):
  status `conflict`;
- two related experts (one declared the other's ID number) never both serve: decided after the
  draw (`related_pairs`), the lower-ranked one being replaced by draw-v1 §9.

Each typed reason is kept only in the draw's sealed record (`sealing`), never in clear: the
candidate snapshot shows only draw-v1's generic reasons.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session, aliased

from expertpool.experts.models import Expert, ExpertEmployment, ExpertRelative
from expertpool.projects.models import (
    PREPARATION_ROLES,
    PRINCIPAL_ROLES,
    Bidder,
    Project,
    ProjectPerson,
)

CONFLICT_STATUS = "conflict"
"""The snapshot status of an expert barred from this project by a rule draw-v1 does not name."""

RELATIVE_OF_PRINCIPAL = "relative_of_principal"
DEPARTMENT_STAFF = "department_staff"
PLANNING_OR_DESIGN = "planning_or_design"
RELATED_MEMBER = "related_member"
REASONS = (RELATIVE_OF_PRINCIPAL, DEPARTMENT_STAFF, PLANNING_OR_DESIGN, RELATED_MEMBER)


@dataclass(frozen=True)
class ProjectConflicts:
    """The experts one project's extra rules bar, by expert id."""

    avoid_orgs: dict[int, set[str]] = field(default_factory=dict)
    barred: dict[int, str] = field(default_factory=dict)
    reasons: dict[int, list[str]] = field(default_factory=dict)

    def status_of(self, expert_id: int, status: str) -> str:
        """The snapshot status: `conflict` for a barred expert who would otherwise serve."""
        return CONFLICT_STATUS if status == "active" and expert_id in self.barred else status

    def sealed_reasons(self) -> dict[str, list[str]]:
        """The typed reasons by expert id (text keys), for the draw's sealed record."""
        return {str(k): sorted(set(v)) for k, v in sorted(self.reasons.items())}


def project_conflicts(
    session: Session,
    project: Project,
    *,
    day: date,
    employment_cutoff: date,
    experts: Collection[int] | None = None,
) -> ProjectConflicts:
    """The extra conflicts of `project` for an evaluation on `day` (optionally for some experts).

    `employment_cutoff`: employments that ended on or after it count (the look-back window).
    """
    out = ProjectConflicts()

    def note(expert_id: int, reason: str) -> None:
        out.reasons.setdefault(expert_id, []).append(reason)

    ids = None if experts is None else sorted(set(experts))

    # Relatives of bidders' principals: the relative's bidder becomes an avoided organisation.
    principal_orgs: dict[int, set[str]] = defaultdict(set)
    stmt = (
        select(ExpertRelative.expert_id, Bidder.credit_code)
        .join(ProjectPerson, ProjectPerson.id_number_bidx == ExpertRelative.id_number_bidx)
        .join(Bidder, Bidder.id == ProjectPerson.bidder_id)
        .where(ProjectPerson.project_id == project.id, ProjectPerson.role.in_(PRINCIPAL_ROLES))
    )
    if ids is not None:
        stmt = stmt.where(ExpertRelative.expert_id.in_(ids))
    for expert_id, bidder_code in session.execute(stmt).all():
        principal_orgs[expert_id].add(bidder_code)
        note(expert_id, RELATIVE_OF_PRINCIPAL)
    out.avoid_orgs.update(principal_orgs)
    # Staff of the supervising department, now or inside the look-back window.
    department = project.department
    code = department.credit_code if department is not None else None
    if code:
        current = select(Expert.id).where(Expert.employer_code == code)
        former = select(ExpertEmployment.expert_id).where(
            ExpertEmployment.org_code == code,
            ExpertEmployment.start_on <= day,
            or_(ExpertEmployment.end_on.is_(None), ExpertEmployment.end_on >= employment_cutoff),
        )
        if ids is not None:
            current = current.where(Expert.id.in_(ids))
            former = former.where(ExpertEmployment.expert_id.in_(ids))
        staff = set(session.execute(current).scalars())
        staff |= set(session.execute(former).scalars())
        for expert_id in staff:
            out.barred[expert_id] = DEPARTMENT_STAFF
            note(expert_id, DEPARTMENT_STAFF)
    # People who worked on the project's planning or design.
    prepared = (
        select(Expert.id)
        .join(ProjectPerson, ProjectPerson.id_number_bidx == Expert.id_number_bidx)
        .where(ProjectPerson.project_id == project.id, ProjectPerson.role.in_(PREPARATION_ROLES))
    )
    if ids is not None:
        prepared = prepared.where(Expert.id.in_(ids))
    for expert_id in session.execute(prepared).scalars():
        out.barred.setdefault(expert_id, PLANNING_OR_DESIGN)
        note(expert_id, PLANNING_OR_DESIGN)
    return out


def related_pairs(session: Session, expert_ids: Iterable[int]) -> set[frozenset[int]]:
    """The pairs among `expert_ids` where one declared the other as a near relative."""
    ids = sorted(set(expert_ids))
    if len(ids) < 2:
        return set()
    other = aliased(Expert)
    rows = session.execute(
        select(ExpertRelative.expert_id, other.id)
        .join(other, and_(other.id_number_bidx == ExpertRelative.id_number_bidx))
        .where(
            ExpertRelative.expert_id.in_(ids),
            other.id.in_(ids),
            other.id != ExpertRelative.expert_id,
        )
    ).all()
    return {frozenset((a, b)) for a, b in rows}


def related_to(pairs: set[frozenset[int]], expert_id: int, others: Iterable[int]) -> bool:
    """Whether `expert_id` is related to any of `others`."""
    return any(frozenset((expert_id, o)) in pairs for o in others if o != expert_id)
