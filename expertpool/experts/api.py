"""The experts JSON API under /api/v1/experts (bearer tokens): self-service, search and review."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import Blueprint, jsonify, request
from flask_babel import gettext as _
from pydantic import ConfigDict, Field

from expertpool.accounts.access import require_user as _user
from expertpool.accounts.access import roles
from expertpool.accounts.idempotency import idempotent
from expertpool.accounts.models import UserRole
from expertpool.core.api import (
    PREFIX,
    IdempotencyHeaders,
    Model,
    Out,
    PageMeta,
    PageQuery,
    body,
    operation,
    page_meta,
    query,
)
from expertpool.core.calendar import cst_date
from expertpool.core.errors import ValidationFailed
from expertpool.core.state import config, db, now, state
from expertpool.experts import (
    applications,
    availability,
    entry,
    evidence,
    records,
    review,
    terms,
)
from expertpool.experts import search as expert_search
from expertpool.experts.models import Expert
from expertpool.experts.pages import STAFF, cipher

bp = Blueprint("experts_api", __name__, url_prefix=PREFIX + "/experts")
SELF = ["experts: self-service"]
STAFF_TAGS = ["experts: search and review"]
Text = str | None
Loose = str | int | float | bool | None


# Models -----------------------------------------------------------------------------------------


class OrgRef(Out):
    org_code: str
    org_name: str


class EmploymentOut(Out):
    org_code: str | None
    org_name: str | None
    start_on: str
    end_on: str | None


class AvoidanceOut(Out):
    org_code: str | None
    org_name: str | None
    kind: str


class EvidenceRef(Out):
    id: int
    name: str
    mime: str
    size: int
    sha256: str


class LeaveRef(Out):
    id: int
    start_on: str
    end_on: str
    reason: str | None


class ExpertRecord(Out):
    """A record; personal data in clear for its owner, masked for staff."""

    id: int
    name: str | None
    id_number: str
    phone: str
    email: str | None
    title: str | None
    title_level: str | None
    years_experience: int | None
    birth_date: str | None
    home_region: str | None
    employer_code: str | None
    employer_name: str | None
    specialties: list[str]
    employment: list[EmploymentOut]
    avoidances: list[AvoidanceOut]
    evidence: list[EvidenceRef]
    leave: list[LeaveRef]
    status: str
    suspended_until: str | None
    consent: bool
    version: int


class VersionIn(Model):
    version: int | None = Field(None, description="The version you read (optimistic locking).")


class DraftIn(VersionIn):
    """Any subset of the application's fields; the full check runs on submission."""

    name: Text = Field(None, max_length=200)
    email: Text = Field(None, max_length=200)
    title: Text = Field(None, max_length=200)
    employer_name: Text = Field(None, max_length=200)
    employer_code: Text = Field(None, max_length=50)
    id_number: Text = Field(None, max_length=50)
    phone: Text = Field(None, max_length=50)
    title_level: Text = Field(None, max_length=50)
    years_experience: int | str | None = None
    home_region: Text = Field(None, max_length=20)
    specialties: list[str] | str | None = None
    employment: list[dict[str, Loose]] | None = None
    avoidances: list[dict[str, Loose]] | None = None
    consent: bool | str | None = None


class EvidenceOut(Out):
    id: int
    sha256: str
    mime: str
    size: int


class LeaveIn(Model):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"start_on": "2030-01-02", "end_on": "2030-01-05", "reason": "出差"}]
        },
    )

    start_on: date
    end_on: date
    reason: str = Field("", max_length=500)


class LeaveOut(Out):
    id: int
    start_on: str
    end_on: str


class ChangeIn(Model):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"title": "正高级工程师"}]}
    )

    specialties: list[str] | None = None
    employer_code: Text = Field(None, max_length=50)
    employer_name: Text = Field(None, max_length=200)
    title: Text = Field(None, max_length=200)
    title_level: Text = Field(None, max_length=50)


class ChangeOut(Out):
    id: int
    status: str


class ExpertRow(Out):
    id: int
    name: str | None
    status: str
    home_region: str | None
    title: str | None
    title_level: str | None
    specialties: list[str]
    employer_name: str | None
    version: int


class SearchQuery(PageQuery):
    specialty: Text = Field(None, max_length=20, description="Specialty code prefix.")
    city: Text = Field(None, max_length=20, description="Home region code.")
    status: Text = Field(None, max_length=20)
    title: Text = Field(None, max_length=100)
    name: Text = Field(None, max_length=100, description="Name prefix.")
    per_page: int = Field(expert_search.PER_PAGE, ge=1, le=100)


class SearchOut(PageMeta):
    items: list[ExpertRow]
    by_specialty: dict[str, int]
    by_city: dict[str, int]


class QueueQuery(PageQuery):
    status: Text = Field(None, max_length=20)
    city: Text = Field(None, max_length=20)
    specialty: Text = Field(None, max_length=20)


class QueueRow(ExpertRow):
    id_number_also_on: list[int] = Field(description="Other records with the same ID number.")


class QueueOut(PageMeta):
    items: list[QueueRow]


class DecisionOut(Out):
    decision: str
    opinion: str | None
    at: str
    application_number: str | None


class RecordOut(ExpertRecord):
    versions: list[int]
    decisions: list[DecisionOut]


class VersionOut(Out):
    number: int
    submitted_at: str


class DecisionIn(VersionIn):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"decision": "return", "opinion": "请补充职称证书。"}]},
    )

    decision: str = Field(max_length=20, description="approve, return or reject.")
    opinion: str = Field("", max_length=2000)


class RevealIn(Model):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"reason": "核对身份证号码"}]}
    )

    reason: str = Field(max_length=500, description="Why you need the personal data (logged).")


class RevealOut(Out):
    id_number: str
    phone: str


class ChangeDecisionIn(Model):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"approve": False, "opinion": "证明材料不足。"}]},
    )

    approve: bool
    opinion: str = Field("", max_length=2000)


class StatusIn(Model):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"status": "suspended", "reason": "多次无故缺席", "until": "2030-12-31"}]
        },
    )

    status: str = Field(max_length=20, description="suspended, active, retired or removed.")
    reason: str = Field("", max_length=2000)
    until: date | None = Field(None, description="End of a suspension.")


# Views ------------------------------------------------------------------------------------------


def _mine() -> Expert:
    return applications.ensure_record(db(), _user())


def _row(e: Expert) -> dict[str, Any]:
    return {
        "id": e.id,
        "name": e.name,
        "status": e.status.value,
        "home_region": e.home_region,
        "title": e.title,
        "title_level": e.title_level.value if e.title_level else None,
        "specialties": e.specialty_codes,
        "employer_name": e.employer_name,
        "version": e.version,
    }


@bp.route("/me", methods=["GET"])
@roles(UserRole.EXPERT)
@operation(tags=SELF, scope="experts:self", HTTP_200=ExpertRecord)
def me() -> Any:
    """My record, personal data in clear (it is mine)."""
    return jsonify(records.view(_mine(), cipher(), reveal=True))


@bp.route("/me", methods=["PUT"])
@roles(UserRole.EXPERT)
@operation(tags=SELF, scope="experts:self", json=DraftIn, HTTP_200=ExpertRecord)
def save() -> Any:
    """Save the given fields of my draft (`version` optional for optimistic concurrency)."""
    data = body(DraftIn)
    expert = applications.save_draft(
        db(),
        cipher=cipher(),
        config=config(),
        actor=_user(),
        expert_id=_mine().id,
        data=data.model_dump(exclude_unset=True),
        expected_version=data.version,
    )
    return jsonify(records.view(expert, cipher(), reveal=True))


@bp.route("/me/submit", methods=["POST"])
@roles(UserRole.EXPERT)
@operation(tags=SELF, scope="experts:self", json=VersionIn, HTTP_200=ExpertRecord)
def submit() -> Any:
    """Submit my application for review."""
    raw = request.get_json(silent=True)
    version = body(VersionIn).version if isinstance(raw, dict) else None
    expert = applications.submit(
        db(),
        cipher=cipher(),
        config=config(),
        actor=_user(),
        expert_id=_mine().id,
        expected_version=version,
    )
    return jsonify(records.view(expert, cipher(), reveal=True))


@bp.route("/me/evidence", methods=["POST"])
@roles(UserRole.EXPERT)
@idempotent
@operation(tags=SELF, scope="experts:self", headers=IdempotencyHeaders, HTTP_201=EvidenceOut)
def upload() -> Any:
    """Attach an evidence file (multipart/form-data, field `file`: PDF, JPEG or PNG)."""
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        raise ValidationFailed(fields={"evidence": _("Choose a file.")})
    row = evidence.add_evidence(
        db(),
        config=config(),
        files=state().files,
        actor=_user(),
        expert_id=_mine().id,
        filename=upload.filename,
        data=upload.read(),
    )
    return jsonify({"id": row.id, "sha256": row.sha256, "mime": row.mime, "size": row.size}), 201


@bp.route("/me/leave", methods=["POST"])
@roles(UserRole.EXPERT)
@idempotent
@operation(
    tags=SELF, scope="experts:self", json=LeaveIn, headers=IdempotencyHeaders, HTTP_201=LeaveOut
)
def leave() -> Any:
    """Declare an unavailable period."""
    data = body(LeaveIn)
    row = availability.declare_leave(
        db(),
        actor=_user(),
        expert_id=_mine().id,
        start_on=data.start_on,
        end_on=data.end_on,
        reason=data.reason,
    )
    return jsonify(
        {"id": row.id, "start_on": row.start_on.isoformat(), "end_on": row.end_on.isoformat()}
    ), 201


@bp.route("/me/changes", methods=["POST"])
@roles(UserRole.EXPERT)
@idempotent
@operation(
    tags=SELF, scope="experts:self", json=ChangeIn, headers=IdempotencyHeaders, HTTP_201=ChangeOut
)
def propose() -> Any:
    """Propose new specialties, employer or title (active experts)."""
    change = review.propose_change(
        db(),
        config=config(),
        actor=_user(),
        expert_id=_mine().id,
        data=body(ChangeIn).model_dump(exclude_unset=True),
    )
    return jsonify({"id": change.id, "status": change.status.value}), 201


@bp.route("", methods=["GET"])
@roles(*STAFF)
@operation(tags=STAFF_TAGS, scope="experts:read", query=SearchQuery, HTTP_200=SearchOut)
def search() -> Any:
    """Staff search (specialty prefix, city, status, title, name prefix), paged, with counts per
    specialty and city."""
    a = query(SearchQuery)
    result = expert_search.search(
        db(),
        specialty=a.specialty,
        city=a.city,
        status=a.status,
        title=a.title,
        name=a.name,
        page=a.page,
        per_page=a.per_page,
    )
    return jsonify(
        {
            "items": [_row(e) for e in result.items],
            **page_meta(result.total, result.page, result.per_page),
            "by_specialty": dict(result.by_specialty),
            "by_city": dict(result.by_city),
        }
    )


@bp.route("/review-queue", methods=["GET"])
@roles(UserRole.REVIEWER)
@operation(tags=STAFF_TAGS, scope="experts:review", query=QueueQuery, HTTP_200=QueueOut)
def queue() -> Any:
    """Applications waiting for a decision (filters: status, city, specialty), paged."""
    a = query(QueueQuery)
    page = review.queue(
        db(),
        status=a.status,
        city=a.city,
        specialty=a.specialty,
        page=a.page,
        per_page=a.per_page,
        reviewer=_user(),
        entry_rules=entry.rules_for(config()),
        today=cst_date(now()),
    )
    shared = records.shared_id_numbers(db(), page.items)
    return jsonify(
        {
            "items": [{**_row(e), "id_number_also_on": shared.get(e.id, [])} for e in page.items],
            **page_meta(page.total, page.page, page.per_page),
        }
    )


@bp.route("/<int:expert_id>", methods=["GET"])
@roles(*STAFF)
@operation(tags=STAFF_TAGS, scope="experts:read", HTTP_200=RecordOut)
def record(expert_id: int) -> Any:
    """One expert, personal data masked, with versions and decisions."""
    expert = records.get_expert(db(), expert_id)
    return jsonify(
        {
            **records.view(expert, cipher()),
            "versions": [v.number for v in records.versions(db(), expert_id)],
            "decisions": [
                {
                    "decision": d.decision,
                    "opinion": d.opinion,
                    "at": d.decided_at.isoformat(),
                    "application_number": d.application_number,
                }
                for d in review.decisions(db(), expert_id)
            ],
        }
    )


@bp.route("/<int:expert_id>/versions/<int:number>", methods=["GET"])
@roles(*STAFF)
@operation(tags=STAFF_TAGS, scope="experts:read", HTTP_200=VersionOut)
def version(expert_id: int, number: int) -> Any:
    """One submitted version."""
    return jsonify(records.version(db(), expert_id, number))


@bp.route("/<int:expert_id>/decision", methods=["POST"])
@roles(UserRole.REVIEWER)
@operation(tags=STAFF_TAGS, scope="experts:review", json=DecisionIn, HTTP_200=ExpertRow)
def decide(expert_id: int) -> Any:
    """Approve, return or reject an application; a stale `version` is 409."""
    data = body(DecisionIn)
    expert = review.decide(
        db(),
        reviewer=_user(),
        expert_id=expert_id,
        decision=data.decision,
        opinion=data.opinion,
        expected_version=data.version,
        rules=terms.rules_for(config()),
        entry_rules=entry.rules_for(config()),
        today=cst_date(now()),
    )
    return jsonify(_row(expert))


@bp.route("/<int:expert_id>/reveal", methods=["POST"])
@roles(UserRole.REVIEWER)
@operation(tags=STAFF_TAGS, scope="experts:review", json=RevealIn, HTTP_200=RevealOut)
def reveal(expert_id: int) -> Any:
    """The clear ID number and phone, with a logged reason."""
    return jsonify(
        review.reveal(
            db(), cipher=cipher(), user=_user(), expert_id=expert_id, reason=body(RevealIn).reason
        )
    )


@bp.route("/changes/<int:change_id>/decision", methods=["POST"])
@roles(UserRole.REVIEWER)
@operation(tags=STAFF_TAGS, scope="experts:review", json=ChangeDecisionIn, HTTP_200=ChangeOut)
def decide_change(change_id: int) -> Any:
    """Approve or refuse a pending change."""
    data = body(ChangeDecisionIn)
    change = review.decide_change(
        db(), reviewer=_user(), change_id=change_id, approve=data.approve, opinion=data.opinion
    )
    return jsonify({"id": change.id, "status": change.status.value})


@bp.route("/<int:expert_id>/status", methods=["POST"])
@roles(UserRole.SUPERVISOR)
@operation(tags=STAFF_TAGS, scope="experts:review", json=StatusIn, HTTP_200=ExpertRow)
def set_status(expert_id: int) -> Any:
    """Suspend (with `until`), reinstate, retire or remove."""
    data = body(StatusIn)
    expert = review.change_status(
        db(),
        actor=_user(),
        expert_id=expert_id,
        target=data.status,
        reason=data.reason,
        until=data.until,
    )
    return jsonify(_row(expert))
