"""Projects, lots and bidders: creation and edits until the draw, readiness and the award."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from expertpool.accounts.models import Centre, User, UserRole
from expertpool.core import audit
from expertpool.core.calendar import CST
from expertpool.core.db import utcnow
from expertpool.core.errors import (
    BrokenInvariant,
    Conflict,
    Forbidden,
    NotFound,
    TransitionRefused,
    ValidationFailed,
)
from expertpool.core.forms import parse_flag
from expertpool.core.texts import _l
from expertpool.departments import scope
from expertpool.departments.models import Department, DepartmentField
from expertpool.departments.scope import departments_for_project
from expertpool.events import events
from expertpool.projects.codes import is_valid_credit_code, normalise_credit_code
from expertpool.projects.models import (
    Bidder,
    Lot,
    Project,
    ProjectKind,
    ProjectStatus,
    SecondaryVenue,
)
from expertpool.regimes import rulebook
from expertpool.regimes.models import LegalRegime, ProcurementMethod
from expertpool.regimes.rules import RuleSet

MAX_BUDGET_FEN = 10**15  # ten trillion yuan: anything above is a typing error
MAX_DURATION_MINUTES = 7 * 24 * 60
MAX_REPRESENTATIVES = 20
MIN_SPECIAL_REASON = 10  # characters: a written reason, not a word


def default_regime(kind: ProjectKind) -> LegalRegime:
    """The regime assumed when none is given (as the migration did for existing projects): works
    under the Tendering and Bidding Law, goods and services under the Government Procurement Law.
    """
    if kind is ProjectKind.WORKS:
        return LegalRegime.TENDERING_LAW
    return LegalRegime.GOVERNMENT_PROCUREMENT


# Parsing -----------------------------------------------------------------------------------------


def parse_budget_fen(value: Any) -> int:
    """Yuan (string or integer, at most two decimals) to fen; ValueError when not a budget."""
    if isinstance(value, bool) or value is None:
        raise ValueError("missing")
    if isinstance(value, float):
        value = repr(value)  # the shortest text that reads back as the same float: what was typed
    try:
        amount = Decimal(str(value).replace(",", "").strip())
    except InvalidOperation:
        raise ValueError("not a number") from None
    if not amount.is_finite() or amount < 0:
        raise ValueError("not a budget")
    # Checked before the quantize below, which a huge number (1e187) would overflow.
    if amount * 100 > MAX_BUDGET_FEN:
        raise ValueError("too large")
    if amount != amount.quantize(Decimal("0.01")):
        raise ValueError("not a budget")
    fen = int(amount * 100)
    return fen


def parse_moment(value: Any) -> datetime:
    """An ISO date-time; without an offset it is China Standard Time. Returns aware UTC."""
    if not isinstance(value, str) or not value.strip():
        raise ValueError("missing")
    moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=CST)
    return moment.astimezone(UTC)


def _int(value: Any, lo: int, hi: int) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    return value if isinstance(value, int) and lo <= value <= hi else None


def _text(value: Any, limit: int) -> str:
    return value.strip()[: limit + 1] if isinstance(value, str) else ""


def _centre(session: Session, code: Any) -> Centre | None:
    if not isinstance(code, str) or not code:
        return None
    return session.execute(
        select(Centre).where(Centre.region_code == code.strip())
    ).scalar_one_or_none()


def _codes(value: Any) -> list[str] | None:
    if value is None or value == "":
        return []
    if isinstance(value, str):
        return [c for c in value.replace(",", " ").split() if c]
    if isinstance(value, list) and all(isinstance(c, str) for c in value):
        return [c.strip() for c in value if c.strip()]
    return None


def _check_org(data: Mapping[str, Any], prefix: str, fields: dict[str, str]) -> tuple[str, str]:
    code = (
        normalise_credit_code(data.get(f"{prefix}_code") or "")
        if isinstance(data.get(f"{prefix}_code"), str)
        else ""
    )
    name = _text(data.get(f"{prefix}_name"), 200)
    if not is_valid_credit_code(code):
        fields[f"{prefix}_code"] = str(
            _l("Not a valid unified social credit code (18 characters, check character).")
        )
    if not name or len(name) > 200:
        fields[f"{prefix}_name"] = str(_l("Required (at most 200 characters)."))
    return code, name


def validate_project(
    session: Session,
    data: Mapping[str, Any],
    *,
    owner_centre_id: int,
    now: datetime,
    project_id: int | None = None,
    secondary_picked: bool = False,
) -> dict[str, Any]:
    """Check every field of a project; return clean values or raise `ValidationFailed` with all
    errors.

    `secondary_picked` (the setting EXPERTPOOL_REMOTE_HIDE_SECONDARY_VENUE): a remote project's
    secondary venues are picked at random by the system at each draw request and hidden until
    the opening (`draws/remote.py`), so its staff may not name them; otherwise they must.
    """
    fields: dict[str, str] = {}
    out: dict[str, Any] = {}
    code = _text(data.get("code"), 64)
    if not code or len(code) > 64:
        fields["code"] = str(_l("Required (at most 64 characters)."))
    else:
        clash = session.execute(select(Project.id).where(Project.code == code)).scalar_one_or_none()
        if clash is not None and clash != project_id:
            fields["code"] = str(_l("Another project has this code."))
    out["code"] = code
    name = _text(data.get("name"), 200)
    if not name or len(name) > 200:
        fields["name"] = str(_l("Required (at most 200 characters)."))
    out["name"] = name
    try:
        out["kind"] = ProjectKind(str(data.get("kind")))
    except ValueError:
        fields["kind"] = str(_l("Choose works, goods or services."))
    regime_raw, method_raw = data.get("regime"), data.get("method")
    try:
        if regime_raw:
            out["regime"] = LegalRegime(str(regime_raw))
        elif "kind" in out:
            out["regime"] = default_regime(out["kind"])
    except ValueError:
        fields["regime"] = str(_l("Choose a legal regime."))
    try:
        out["method"] = ProcurementMethod(str(method_raw or ProcurementMethod.OPEN_TENDER.value))
    except ValueError:
        fields["method"] = str(_l("Choose a procurement method."))
    else:
        if "regime" in out and not rulebook.method_allowed(out["regime"], out["method"]):
            fields["method"] = str(_l("This legal regime has no such procurement method."))
    out["is_offsite"] = parse_flag(data.get("is_offsite"))
    out["is_special"] = parse_flag(data.get("is_special"))
    special_reason = _text(data.get("special_reason"), 2000)
    if out["is_special"] and not MIN_SPECIAL_REASON <= len(special_reason) <= 2000:
        fields["special_reason"] = str(
            _l("A special project needs the written reason (10 to 2000 characters).")
        )
    out["special_reason"] = special_reason if out["is_special"] else ""
    try:
        out["budget_fen"] = parse_budget_fen(data.get("budget"))
    except ValueError:
        fields["budget"] = str(_l("An amount in yuan, at most two decimals, not negative."))
    out["tenderer_code"], out["tenderer_name"] = _check_org(data, "tenderer", fields)
    out["agency_code"], out["agency_name"] = _check_org(data, "agency", fields)
    reps = _int(data.get("tenderer_representatives", 0), 0, MAX_REPRESENTATIVES)
    if reps is None:
        fields["tenderer_representatives"] = str(
            _l("A whole number from 0 to %(n)d.", n=MAX_REPRESENTATIVES)
        )
    out["tenderer_representatives"] = reps or 0
    out["is_complex"] = parse_flag(data.get("is_complex"))
    try:
        start = parse_moment(data.get("evaluation_start"))
    except ValueError:
        fields["evaluation_start"] = str(
            _l("A date and time, e.g. 2026-12-01T09:00 (China Standard Time).")
        )
    else:
        if start <= now:
            fields["evaluation_start"] = str(_l("The evaluation must start in the future."))
        out["evaluation_start_at"] = start
    duration = _int(data.get("duration_minutes"), 30, MAX_DURATION_MINUTES)
    if duration is None:
        fields["duration_minutes"] = str(_l("Minutes, from 30 to %(n)d.", n=MAX_DURATION_MINUTES))
    out["duration_minutes"] = duration
    main = (
        _centre(session, data.get("main_centre"))
        if data.get("main_centre")
        else session.get(Centre, owner_centre_id)
    )
    if main is None:
        fields["main_centre"] = str(_l("Unknown centre."))
    out["main_centre"] = main
    out["is_remote"] = parse_flag(data.get("is_remote"))
    secondary_codes = _codes(data.get("secondary_centres"))
    secondary: list[Centre] = []
    if secondary_codes is None:
        fields["secondary_centres"] = str(_l("A list of centre region codes."))
    else:
        for c in dict.fromkeys(secondary_codes):
            centre = _centre(session, c)
            if centre is None:
                fields["secondary_centres"] = str(_l("Unknown centre: %(c)s", c=c))
            elif main is not None and centre.id == main.id:
                fields["secondary_centres"] = str(
                    _l("The main venue cannot also be a secondary venue.")
                )
            else:
                secondary.append(centre)
        if secondary_picked and secondary:
            fields["secondary_centres"] = str(
                _l(
                    "Secondary venues are picked at random by the system when the draw is"
                    " requested, and shown only after the opening."
                )
            )
        elif (
            out["is_remote"]
            and not secondary
            and not secondary_picked
            and "secondary_centres" not in fields
        ):
            fields["secondary_centres"] = str(
                _l("A remote evaluation needs at least one secondary venue.")
            )
        if not out["is_remote"] and secondary:
            fields["secondary_centres"] = str(_l("Only a remote evaluation has secondary venues."))
    out["secondary"] = secondary
    owner = session.get(Centre, owner_centre_id)
    if "kind" in out and owner is not None:
        out["department"] = _department(session, data.get("department"), out["kind"], owner, fields)
    if fields:
        raise ValidationFailed(fields=fields)
    return out


def _department(
    session: Session, code: Any, kind: ProjectKind, owner: Centre, fields: dict[str, str]
) -> Department | None:
    """The supervising department named by code, or by default the coordinating department of
    the owning centre's city (None while no departments are loaded)."""
    allowed = {d.code: d for d in departments_for_project(session, kind.value, owner.region_code)}
    if code:
        dept = allowed.get(str(code))
        if dept is None:
            fields["department"] = str(
                _l("Choose a department that supervises this kind of project in this region.")
            )
        return dept
    city = owner.region_code[:4] + "00"
    return allowed.get(f"{city}-{DepartmentField.COORDINATION.value}")


# Views -------------------------------------------------------------------------------------------


def project_view(p: Project) -> dict[str, Any]:
    """A project as JSON (also the audit snapshot)."""
    return {
        "id": p.id,
        "code": p.code,
        "name": p.name,
        "kind": p.kind.value,
        "regime": p.regime.value,
        "method": p.method.value,
        "budget": f"{p.budget_cny:.2f}",
        "budget_fen": p.budget_fen,
        "is_complex": p.is_complex,
        "tenderer": {"code": p.tenderer_code, "name": p.tenderer_name},
        "agency": {"code": p.agency_code, "name": p.agency_name},
        "tenderer_representatives": p.tenderer_representatives,
        "evaluation_start_at": p.evaluation_start_at.isoformat(),
        "duration_minutes": p.duration_minutes,
        "owner_centre": p.owner_centre.region_code if p.owner_centre else None,
        "main_centre": p.main_centre.region_code if p.main_centre else None,
        "is_remote": p.is_remote,
        "department": p.department.code if p.department else None,
        "is_offsite": p.is_offsite,
        "is_special": p.is_special,
        "special_reason": p.special_reason,
        "special_approved_by": p.special_approved_by,
        "rule_version": p.rule_version,
        "secondary_centres": [c.region_code for c in p.secondary_centres],
        "status": p.status.value,
        "failure_kind": p.failure_kind.value if p.failure_kind else None,
        "outcome_reason": p.outcome_reason,
        "postponements": p.postponements,
        "awarded_on": p.awarded_on.isoformat() if p.awarded_on else None,
        "winner": {"code": p.winner_code, "name": p.winner_name} if p.winner_code else None,
        "lots": [{"id": lot.id, "code": lot.code, "name": lot.name} for lot in p.lots],
        "bidders": [
            {
                "id": b.id,
                "credit_code": b.credit_code,
                "name": b.name,
                "lot": b.lot.code if b.lot else None,
                "is_small_enterprise": b.is_small_enterprise,
            }
            for b in p.bidders
        ],
    }


def _snapshot(p: Project) -> dict[str, Any]:
    view = project_view(p)
    view.pop("lots")
    view.pop("bidders")
    return view


# Who may see and act on a project -----------------------------------------------------------------


def supervises(session: Session, user: User, project: Project) -> bool:
    """Whether the user is a supervisor whose department supervises the project."""
    return user.role is UserRole.SUPERVISOR and scope.may_supervise(
        session,
        user,
        kind=project.kind.value,
        region=project.owner_centre.region_code,
        department_id=project.department_id,
    )


def require_reader(session: Session, user: User, project: Project) -> None:
    """Centre staff read their centre's projects, supervisors those their department supervises;
    administrators read all (other roles are refused by the routes)."""
    if user.role is UserRole.CENTRE_STAFF and user.centre_id != project.owner_centre_id:
        raise Forbidden(str(_l("You may act only for your own centre.")), code="outside_centre")
    if user.role is UserRole.SUPERVISOR and not supervises(session, user, project):
        raise Forbidden(
            str(_l("Your department does not supervise this project.")), code="outside_department"
        )


def visible_projects(session: Session, user: User) -> list[Project]:
    """The projects a user's project list shows."""
    if user.role is UserRole.CENTRE_STAFF:
        return list_projects(session, centre_id=user.centre_id)
    rows = list_projects(session)
    if user.role is UserRole.SUPERVISOR:
        return [p for p in rows if supervises(session, user, p)]
    return rows


# Queries -----------------------------------------------------------------------------------------


def get_project(session: Session, project_id: int) -> Project:
    """A project by id, or `NotFound`."""
    project = session.get(Project, project_id)
    if project is None:
        raise NotFound(str(_l("No such project.")))
    return project


def list_projects(session: Session, *, centre_id: int | None = None) -> list[Project]:
    """Projects, newest evaluation first; only one centre's when `centre_id` is given."""
    stmt = select(Project).order_by(Project.evaluation_start_at.desc(), Project.id.desc())
    if centre_id is not None:
        stmt = stmt.where(Project.owner_centre_id == centre_id)
    return list(session.execute(stmt).scalars())


def _lock(session: Session, project_id: int) -> Project:
    """The project row, locked until the end of the transaction (PostgreSQL; SQLite serialises
    writers).
    """
    project = session.execute(
        select(Project).where(Project.id == project_id).with_for_update()
    ).scalar_one_or_none()
    if project is None:
        raise NotFound(str(_l("No such project.")))
    return project


def _require_editable(project: Project) -> None:
    if not project.status.is_editable:
        raise Conflict(
            str(_l("The project has been drawn; its details and bidders can no longer change.")),
            code="project_locked",
        )


# Commands ----------------------------------------------------------------------------------------


def _apply(session: Session, project: Project, values: dict[str, Any]) -> None:
    for key in (
        "code",
        "name",
        "kind",
        "regime",
        "method",
        "is_offsite",
        "budget_fen",
        "tenderer_code",
        "tenderer_name",
        "agency_code",
        "agency_name",
        "tenderer_representatives",
        "is_complex",
        "evaluation_start_at",
        "duration_minutes",
        "is_remote",
        "is_special",
        "special_reason",
    ):
        setattr(project, key, values[key])
    project.main_centre = values["main_centre"]
    if "department" in values:
        project.department = values["department"]
    wanted = {c.id for c in values["secondary"]}
    for sv in list(project.secondary_venues):
        if sv.centre_id not in wanted:
            project.secondary_venues.remove(sv)
    have = {sv.centre_id for sv in project.secondary_venues}
    for centre in values["secondary"]:
        if centre.id not in have:
            project.secondary_venues.append(SecondaryVenue(centre=centre))


def create_project(
    session: Session,
    *,
    actor: str,
    owner_centre_id: int,
    data: Mapping[str, Any],
    now: datetime | None = None,
    secondary_picked: bool = False,
) -> Project:
    """Create a draft project owned by a centre; commits (`secondary_picked`: see
    `validate_project`)."""
    values = validate_project(
        session,
        data,
        owner_centre_id=owner_centre_id,
        now=now or utcnow(),
        secondary_picked=secondary_picked,
    )
    project = Project(owner_centre_id=owner_centre_id, status=ProjectStatus.DRAFT)
    session.add(project)
    _apply(session, project, values)
    session.flush()
    session.refresh(project)
    audit.record(
        session,
        actor=actor,
        action="project.create",
        object_type="project",
        object_id=project.id,
        after=_snapshot(project),
    )
    session.commit()
    return project


def update_project(
    session: Session,
    *,
    actor: str,
    project_id: int,
    data: Mapping[str, Any],
    now: datetime | None = None,
    secondary_picked: bool = False,
) -> Project:
    """Change a project's details until it is drawn; commits (`secondary_picked`: see
    `validate_project`)."""
    project = _lock(session, project_id)
    _require_editable(project)
    values = validate_project(
        session,
        data,
        owner_centre_id=project.owner_centre_id,
        now=now or utcnow(),
        project_id=project.id,
        secondary_picked=secondary_picked,
    )
    before = _snapshot(project)
    if (values["is_special"], values["special_reason"]) != (
        project.is_special,
        project.special_reason,
    ):
        # a new reason (or a project no longer special) needs a new approval
        project.special_approved_by, project.special_approved_at = None, None
    _apply(session, project, values)
    session.flush()
    b, a = audit.diff(before, _snapshot(project))
    if a:
        audit.record(
            session,
            actor=actor,
            action="project.update",
            object_type="project",
            object_id=project.id,
            before=b,
            after=a,
        )
    session.commit()
    return project


def add_lot(session: Session, *, actor: str, project_id: int, code: Any, name: Any) -> Lot:
    """Add a lot (标段) until the draw; commits."""
    project = _lock(session, project_id)
    _require_editable(project)
    fields: dict[str, str] = {}
    code_s, name_s = _text(code, 32), _text(name, 200)
    if not code_s or len(code_s) > 32:
        fields["code"] = str(_l("Required (at most 32 characters)."))
    elif any(lot.code == code_s for lot in project.lots):
        fields["code"] = str(_l("This project already has a lot with this code."))
    if not name_s or len(name_s) > 200:
        fields["name"] = str(_l("Required (at most 200 characters)."))
    if fields:
        raise ValidationFailed(fields=fields)
    lot = Lot(project=project, code=code_s, name=name_s)
    session.add(lot)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="project.lot_add",
        object_type="project",
        object_id=project.id,
        after={"lot": code_s, "name": name_s},
    )
    session.commit()
    return lot


def remove_lot(session: Session, *, actor: str, project_id: int, lot_id: int) -> None:
    """Remove a lot and its bidders until the draw; commits."""
    project = _lock(session, project_id)
    _require_editable(project)
    lot = session.get(Lot, lot_id)
    if lot is None or lot.project_id != project.id:
        raise NotFound()
    for bidder in [b for b in project.bidders if b.lot_id == lot.id]:
        project.bidders.remove(bidder)
    project.lots.remove(lot)
    audit.record(
        session,
        actor=actor,
        action="project.lot_remove",
        object_type="project",
        object_id=project.id,
        before={"lot": lot.code, "name": lot.name},
    )
    session.commit()


def add_bidder(
    session: Session,
    *,
    actor: str,
    project_id: int,
    credit_code: Any,
    name: Any,
    lot_code: Any = None,
    is_small_enterprise: Any = False,
) -> Bidder:
    """Add a bidder by unified social credit code (for the project, or one lot) until the draw;
    commits.
    """
    project = _lock(session, project_id)
    _require_editable(project)
    fields: dict[str, str] = {}
    code = normalise_credit_code(credit_code) if isinstance(credit_code, str) else ""
    name_s = _text(name, 200)
    if not is_valid_credit_code(code):
        fields["credit_code"] = str(
            _l("Not a valid unified social credit code (18 characters, check character).")
        )
    if not name_s or len(name_s) > 200:
        fields["name"] = str(_l("Required (at most 200 characters)."))
    lot = None
    if lot_code:
        lot = next((x for x in project.lots if x.code == str(lot_code).strip()), None)
        if lot is None:
            fields["lot"] = str(_l("This project has no such lot."))
    if not fields and any(
        b.credit_code == code and b.lot_id == (lot.id if lot else None) for b in project.bidders
    ):
        fields["credit_code"] = str(_l("This bidder is already listed."))
    if fields:
        raise ValidationFailed(fields=fields)
    small = parse_flag(is_small_enterprise)
    bidder = Bidder(
        project=project, lot=lot, credit_code=code, name=name_s, is_small_enterprise=small
    )
    session.add(bidder)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="project.bidder_add",
        object_type="project",
        object_id=project.id,
        after={
            "credit_code": code,
            "name": name_s,
            "lot": lot.code if lot else None,
            "is_small_enterprise": small,
        },
    )
    session.commit()
    return bidder


def remove_bidder(session: Session, *, actor: str, project_id: int, bidder_id: int) -> None:
    """Remove a bidder until the draw; commits."""
    project = _lock(session, project_id)
    _require_editable(project)
    bidder = session.get(Bidder, bidder_id)
    if bidder is None or bidder.project_id != project.id:
        raise NotFound()
    project.bidders.remove(bidder)
    audit.record(
        session,
        actor=actor,
        action="project.bidder_remove",
        object_type="project",
        object_id=project.id,
        before={"credit_code": bidder.credit_code, "name": bidder.name},
    )
    session.commit()


def project_rules(session: Session, project: Project, *, at: datetime | None = None) -> RuleSet:
    """The rules that govern a project: its pinned version once ready, else the version in force
    at `at` (now by default).
    """
    return rulebook.rules_for(
        session,
        project.regime.value,
        project.method.value,
        at=at,
        version=project.rule_version,
    )


def mark_ready(
    session: Session, *, actor: str, project_id: int, now: datetime | None = None
) -> Project:
    """Declare the project complete for a draw (it needs at least one bidder) and pin the rule
    version in force now; commits.
    """
    now = now or utcnow()
    project = _lock(session, project_id)
    if project.status is not ProjectStatus.DRAFT:
        raise TransitionRefused(str(_l("Only a draft project can be made ready.")))
    if not project.bidders:
        raise ValidationFailed(
            fields={"bidders": str(_l("List the bidders first: the draw avoids them."))}
        )
    rulebook.ensure_loaded(session)
    project.status = ProjectStatus.READY
    project.rule_version = rulebook.version_in_force(session, now)
    project.ready_at = now
    audit.record(
        session,
        actor=actor,
        action="project.ready",
        object_type="project",
        object_id=project.id,
        before={"status": "draft"},
        after={"status": "ready", "rule_version": project.rule_version},
    )
    session.commit()
    return project


def approve_special(session: Session, *, actor: User, project_id: int, now: datetime) -> Project:
    """A supervisor approves a special project's written reason (then experts may be appointed
    directly); commits.
    """
    if actor.role is not UserRole.SUPERVISOR:
        raise Forbidden(str(_l("Only a supervisor approves a special project.")))
    project = _lock(session, project_id)
    require_reader(session, actor, project)  # a supervisor of the project's department
    if not project.is_special:
        raise TransitionRefused(str(_l("The project is not marked special.")))
    if project.status.is_closed:
        raise TransitionRefused(str(_l("The project has ended.")))
    project.special_approved_by, project.special_approved_at = actor.username, now
    audit.record(
        session,
        actor=actor.username,
        action="project.special_approved",
        object_type="project",
        object_id=project.id,
        after={"is_special": True, "reason": project.special_reason},
    )
    session.commit()
    return project


def lock_for_draw(session: Session, project_id: int) -> Project:
    """Lock a ready project inside the caller's draw transaction (no commit); `Conflict`
    otherwise.
    """
    project = _lock(session, project_id)
    if project.status is not ProjectStatus.READY:
        raise Conflict(
            str(_l("Only a ready project can be drawn (status: %(s)s).", s=project.status.value)),
            code="project_not_ready",
        )
    return project


def mark_drawn(session: Session, *, actor: str, project: Project) -> None:
    """Move a locked ready project to `drawn` inside the caller's draw transaction (no commit)."""
    if project.status is not ProjectStatus.READY:
        raise TransitionRefused()
    project.status = ProjectStatus.DRAWN
    audit.record(
        session,
        actor=actor,
        action="project.drawn",
        object_type="project",
        object_id=project.id,
        before={"status": "ready"},
        after={"status": "drawn"},
    )


def mark_awarded(
    session: Session,
    *,
    actor: str,
    project_id: int,
    awarded_on: Any,
    winner_code: Any,
    now: datetime | None = None,
) -> Project:
    """Record the award (date and winning bidder) of a drawn project; commits."""
    project = _lock(session, project_id)
    if project.status not in (ProjectStatus.DRAWN, ProjectStatus.OPENED):
        raise TransitionRefused(str(_l("Only a drawn project can be awarded.")))
    fields: dict[str, str] = {}
    day: date | None = None
    try:
        day = date.fromisoformat(str(awarded_on).strip()) if awarded_on else None
    except ValueError:
        day = None
    today = (now or utcnow()).astimezone(CST).date()
    if day is None:
        fields["awarded_on"] = str(_l("A date, e.g. 2026-12-01."))
    elif day > today:
        fields["awarded_on"] = str(_l("The award date cannot be in the future."))
    elif day < project.evaluation_start_at.astimezone(CST).date():
        fields["awarded_on"] = str(_l("The award cannot precede the evaluation."))
    code = normalise_credit_code(winner_code) if isinstance(winner_code, str) else ""
    winner = next((b for b in project.bidders if b.credit_code == code), None)
    if winner is None:
        fields["winner"] = str(_l("The winner must be one of the project's bidders."))
    if fields:
        raise ValidationFailed(fields=fields)
    if winner is None or day is None:
        raise BrokenInvariant()
    before = {"status": project.status.value}
    project.status = ProjectStatus.AWARDED
    project.awarded_on = day
    project.winner_code, project.winner_name = winner.credit_code, winner.name
    audit.record(
        session,
        actor=actor,
        action="project.award",
        object_type="project",
        object_id=project.id,
        before=before,
        after={"status": "awarded", "awarded_on": day.isoformat(), "winner": winner.credit_code},
    )
    events.emit(
        session,
        centre_id=project.owner_centre_id,
        event_type="project.closed",
        data={
            "project_id": project.id,
            "project_code": project.code,
            "outcome": ProjectStatus.AWARDED.value,
            "failure_kind": None,
        },
        now=now or utcnow(),
    )
    session.commit()
    return project
