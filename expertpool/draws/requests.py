"""Draw requests: validate what staff ask for at a terminal, store it, and shape it for `draw/`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from expertpool.accounts.models import User
from expertpool.core import audit
from expertpool.core.calendar import cst_date
from expertpool.core.db import utcnow
from expertpool.core.errors import NotFound, ValidationFailed
from expertpool.core.forms import parse_flag
from expertpool.core.keys import KeyStore
from expertpool.core.texts import _l
from expertpool.draws import remote
from expertpool.draws.models import DrawGroup, DrawRequestRecord
from expertpool.draws.rules import (
    DrawRules,
    GroupSpec,
    parse_frequency_cap,
    parse_groups,
    parse_regions,
    timing_errors,
)
from expertpool.projects import projects
from expertpool.projects.models import Terminal
from expertpool.projects.terminals import check_terminal_for
from expertpool.reference.models import Region, Specialty
from expertpool.regimes.rules import committee_errors


def specialty_catalogue(session: Session) -> dict[str, bool]:
    """Every specialty code of the tree mapped to whether it is retired."""
    return {
        code: retired
        for code, retired in session.execute(select(Specialty.code, Specialty.is_retired))
    }


def region_catalogue(session: Session) -> dict[str, str]:
    """Every region code mapped to its name."""
    return {code: name for code, name in session.execute(select(Region.code, Region.name))}


def request_view(req: DrawRequestRecord) -> dict[str, Any]:
    """A request as JSON: what was asked, never who was drawn."""
    return {
        "id": req.id,
        "project_id": req.project_id,
        "lot": req.lot.code if req.lot else None,
        "parent_id": req.parent_id,
        "status": req.status.value,
        "is_offsite": req.is_offsite,
        "distinct_employers": req.distinct_employers,
        "max_recent_draws": req.max_recent_draws,
        "frequency_window_days": req.frequency_window_days,
        "expert_count": req.expert_count,
        "committee_size": req.committee_size,
        "evaluation_start_at": req.evaluation_start_at.isoformat(),
        "evaluation_end_at": req.evaluation_end_at.isoformat(),
        "terminal_id": req.terminal_id,
        "created_at": req.created_at.isoformat(),
        "groups": [g.as_engine_group() for g in req.groups],
    }


def create_draw_request(
    session: Session,
    *,
    actor: User,
    terminal: Terminal,
    project_id: int,
    data: Mapping[str, Any],
    rules: DrawRules,
    now: datetime | None = None,
    parent_id: int | None = None,
    keys: KeyStore | None = None,
) -> DrawRequestRecord:
    """Validate and store a request made at a terminal for a ready project; commits.

    Every problem is reported at once as field errors, and nothing is stored unless all pass.
    A group marked `remote` in a remote project is a secondary venue's: the system picks its
    venue at random and seals the pick (`draws/remote.py`, needs `keys`).
    """
    now = now or utcnow()
    project = projects.lock_for_draw(session, project_id)
    check_terminal_for(terminal, project.owner_centre_id)
    errors: dict[str, str] = {}
    lot = None
    lot_code = data.get("lot")
    if lot_code:
        lot = next((x for x in project.lots if x.code == str(lot_code).strip()), None)
        if lot is None:
            errors["lot"] = str(_l("This project has no such lot."))
    elif project.lots:
        errors["lot"] = str(_l("Choose the lot the panel is for."))
    regions = region_catalogue(session)
    # an off-site evaluation (异地评标) draws off-site: the main venue's city is excluded
    is_offsite = parse_flag(data.get("is_offsite")) or project.is_offsite
    regions_in = parse_regions(data.get("regions_in"), regions, "regions_in", errors)
    regions_out = parse_regions(data.get("regions_out"), regions, "regions_out", errors)
    if is_offsite:
        regions_out = tuple(dict.fromkeys((*regions_out, project.main_centre.region_code)))
    groups = parse_groups(
        data.get("groups"),
        specialties=specialty_catalogue(session),
        known_regions=regions,
        regions_in=regions_in,
        regions_out=regions_out,
        errors=errors,
    )
    groups = _remote_keys(data.get("groups"), groups, project.is_remote, rules, errors)
    cap = parse_frequency_cap(data.get("max_recent_draws"), rules, errors)
    regime_rules = projects.project_rules(session, project, at=now)
    if groups and not any(k.startswith("groups") for k in errors):
        errors.update(
            committee_errors(
                regime_rules,
                expert_count=sum(g.count for g in groups),
                representatives=project.tenderer_representatives,
                budget_fen=project.budget_fen,
                is_complex=project.is_complex,
            )
        )
    errors.update(
        timing_errors(
            now_at=now,
            evaluation_start_at=project.evaluation_start_at,
            lead_working_days=regime_rules.lead_days(is_offsite=is_offsite or project.is_offsite),
        )
    )
    if errors:
        raise ValidationFailed(fields=errors)
    expert_count = sum(g.count for g in groups)
    req = DrawRequestRecord(
        project=project,
        lot=lot,
        parent_id=parent_id,
        is_offsite=is_offsite,
        distinct_employers=parse_flag(data.get("distinct_employers")),
        max_recent_draws=cap,
        frequency_window_days=rules.frequency_window_days,
        expert_count=expert_count,
        committee_size=expert_count + project.tenderer_representatives,
        evaluation_start_at=project.evaluation_start_at,
        evaluation_end_at=project.evaluation_end_at,
        terminal=terminal,
        requested_by_id=actor.id,
        created_at=now,
        groups=[
            DrawGroup(
                position=i,
                group_key=g.key,
                specialties=list(g.specialties),
                # a secondary venue's city is sealed with the pick, never in this row
                regions_in=[] if remote.is_remote_group(g.key) else list(g.regions_in),
                regions_out=list(g.regions_out),
                count=g.count,
                backups=g.backups,
            )
            for i, g in enumerate(groups)
        ],
    )
    session.add(req)
    terminal.last_seen_at = now
    session.flush()
    quotas = [g.count for g in groups if remote.is_remote_group(g.key)]
    if quotas:
        if keys is None:  # pragma: no cover - every caller passes the key files
            raise ValueError("keys are needed to seal a secondary-venue pick")
        try:
            remote.pick_for_request(session, req, quotas, keys=keys, operator=actor.username)
        except LookupError:
            session.rollback()
            raise ValidationFailed(
                fields={
                    "groups": str(
                        _l(
                            "Not enough secondary venues have that many free seats at that time"
                            " for every remote group."
                        )
                    )
                }
            ) from None
    audit.record(
        session,
        actor=actor.username,
        action="draw.request",
        object_type="project",
        object_id=project.id,
        after={**request_view(req), "terminal": terminal.name},
    )
    session.commit()
    return req


def _remote_keys(
    raw: Any,
    groups: list[GroupSpec],
    is_remote: bool,
    rules: DrawRules,
    errors: dict[str, str],
) -> list[GroupSpec]:
    """Give the groups marked `remote` their opaque ids (`remote-1`, ...) and the others `g1`,
    `g2`, ... in order; a remote group names no region of its own (the pick sets its city)."""
    flags = [
        isinstance(item, Mapping) and parse_flag(item.get("remote"))
        for item in (raw if isinstance(raw, list) else [])
    ]
    if not any(flags) or len(flags) != len(groups):
        return groups
    if not is_remote:
        errors["groups"] = str(_l("Only a remote evaluation has secondary-venue groups."))
        return groups
    if not rules.hide_secondary_venue:
        errors["groups"] = str(
            _l("Secondary venues are named on the project (hidden random pick is off).")
        )
        return groups
    out: list[GroupSpec] = []
    n_main = n_remote = 0
    for i, (g, flag) in enumerate(zip(groups, flags, strict=True)):
        if flag:
            item = raw[i]
            if item.get("regions_in"):
                errors[f"groups[{i}].regions_in"] = str(
                    _l("A secondary venue's group takes the city of the venue picked for it.")
                )
            n_remote += 1
            out.append(
                GroupSpec(
                    key=remote.remote_key(n_remote),
                    specialties=g.specialties,
                    regions_in=(),
                    regions_out=g.regions_out,
                    count=g.count,
                    backups=g.backups,
                )
            )
        else:
            n_main += 1
            out.append(
                GroupSpec(
                    key=f"g{n_main}",
                    specialties=g.specialties,
                    regions_in=g.regions_in,
                    regions_out=g.regions_out,
                    count=g.count,
                    backups=g.backups,
                )
            )
    return out


def lead_days_of(session: Session, req: DrawRequestRecord) -> int | None:
    """The lead-time limit of a stored request under its project's pinned rules (None: exempt)."""
    project = req.project
    return projects.project_rules(session, project).lead_days(
        is_offsite=req.is_offsite or project.is_offsite
    )


def get_request(session: Session, request_id: int) -> DrawRequestRecord:
    """A draw request by id, or `NotFound`."""
    req = session.get(DrawRequestRecord, request_id)
    if req is None:
        raise NotFound()
    return req


def engine_request(
    req: DrawRequestRecord,
    *,
    draw_id: str,
    excluded_experts: Sequence[str] = (),
    remote_regions: Mapping[str, list[str]] | None = None,
) -> dict[str, Any]:
    """The draw-v1 request document (§3) for this request; the protocol supplies draw id and
    exclusions, and each remote group's city from the sealed pick (`remote_regions`; without it
    the remote groups are left out, as the preview does).
    """
    project = req.project
    bidders = [b for b in project.bidders if req.lot_id is None or b.lot_id in (None, req.lot_id)]
    return {
        "draw_id": draw_id,
        "project_code": project.code + (f"/{req.lot.code}" if req.lot else ""),
        "evaluation_date": cst_date(req.evaluation_start_at).isoformat(),
        "bidder_orgs": sorted({b.credit_code for b in bidders}),
        "tenderer_orgs": [project.tenderer_code],
        "agency_orgs": [project.agency_code],
        "excluded_experts": sorted(set(excluded_experts)),
        "max_recent_draws": req.max_recent_draws,
        "distinct_employers": req.distinct_employers,
        "groups": [
            _with_city(g.as_engine_group(), remote_regions)
            for g in req.groups
            if remote_regions is not None or not remote.is_remote_group(g.group_key)
        ],
    }


def _with_city(
    group: dict[str, Any], remote_regions: Mapping[str, list[str]] | None
) -> dict[str, Any]:
    if remote_regions is not None and group["id"] in remote_regions:
        return {**group, "regions_in": list(remote_regions[group["id"]])}
    return group


def requests_of_project(session: Session, project_id: int) -> list[DrawRequestRecord]:
    """A project's draw requests, newest first."""
    stmt = (
        select(DrawRequestRecord)
        .where(DrawRequestRecord.project_id == project_id)
        .order_by(DrawRequestRecord.id.desc())
    )
    return list(session.execute(stmt).scalars())
