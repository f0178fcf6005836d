"""The experts JSON API under /api/experts (bearer tokens)."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import Blueprint, jsonify, request
from flask_babel import gettext as _

from expertpool.accounts.access import require_user as _user
from expertpool.accounts.access import roles
from expertpool.accounts.models import UserRole
from expertpool.core.errors import ValidationFailed
from expertpool.core.state import config, db
from expertpool.experts import applications, availability, evidence, records, review
from expertpool.experts import search as expert_search
from expertpool.experts.models import Expert
from expertpool.experts.pages import STAFF, cipher

bp = Blueprint("experts_api", __name__, url_prefix="/api/experts")


def _body() -> dict[str, Any]:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise ValidationFailed(
            _("Send a JSON object."), fields={"body": _("Expected a JSON object.")}
        )
    return body


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


def _day(body: dict[str, Any], key: str) -> date | None:
    raw = body.get(key)
    if raw in (None, ""):
        return None
    try:
        return date.fromisoformat(str(raw))
    except ValueError:
        raise ValidationFailed(fields={key: _("Use a date like 2020-01-31.")}) from None


@bp.route("/me", methods=["GET"])
@roles(UserRole.EXPERT)
def me() -> Any:
    """My record, personal data in clear (it is mine)."""
    return jsonify(records.view(_mine(), cipher(), reveal=True))


@bp.route("/me", methods=["PUT"])
@roles(UserRole.EXPERT)
def save() -> Any:
    """Save the given fields of my draft (`version` optional for optimistic concurrency)."""
    body = _body()
    expert = applications.save_draft(
        db(),
        cipher=cipher(),
        config=config(),
        actor=_user(),
        expert_id=_mine().id,
        data=body,
        expected_version=body.get("version"),
    )
    return jsonify(records.view(expert, cipher(), reveal=True))


@bp.route("/me/submit", methods=["POST"])
@roles(UserRole.EXPERT)
def submit() -> Any:
    """Submit my application for review."""
    body = request.get_json(silent=True) or {}
    expert = applications.submit(
        db(),
        cipher=cipher(),
        config=config(),
        actor=_user(),
        expert_id=_mine().id,
        expected_version=body.get("version") if isinstance(body, dict) else None,
    )
    return jsonify(records.view(expert, cipher(), reveal=True))


@bp.route("/me/evidence", methods=["POST"])
@roles(UserRole.EXPERT)
def upload() -> Any:
    """Attach an evidence file (multipart field `file`)."""
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        raise ValidationFailed(fields={"evidence": _("Choose a file.")})
    row = evidence.add_evidence(
        db(),
        config=config(),
        actor=_user(),
        expert_id=_mine().id,
        filename=upload.filename,
        data=upload.read(),
    )
    return jsonify({"id": row.id, "sha256": row.sha256, "mime": row.mime, "size": row.size}), 201


@bp.route("/me/leave", methods=["POST"])
@roles(UserRole.EXPERT)
def leave() -> Any:
    """Declare an unavailable period."""
    body = _body()
    row = availability.declare_leave(
        db(),
        actor=_user(),
        expert_id=_mine().id,
        start_on=_day(body, "start_on"),
        end_on=_day(body, "end_on"),
        reason=str(body.get("reason") or ""),
    )
    return jsonify(
        {"id": row.id, "start_on": row.start_on.isoformat(), "end_on": row.end_on.isoformat()}
    ), 201


@bp.route("/me/changes", methods=["POST"])
@roles(UserRole.EXPERT)
def propose() -> Any:
    """Propose new specialties, employer or title (active experts)."""
    change = review.propose_change(
        db(), config=config(), actor=_user(), expert_id=_mine().id, data=_body()
    )
    return jsonify({"id": change.id, "status": change.status.value}), 201


@bp.route("", methods=["GET"])
@roles(*STAFF)
def search() -> Any:
    """Staff search (specialty prefix, city, status, title, name, page, per_page) with counts."""
    a = request.args
    result = expert_search.search(
        db(),
        specialty=a.get("specialty"),
        city=a.get("city"),
        status=a.get("status"),
        title=a.get("title"),
        name=a.get("name"),
        page=a.get("page", 1, type=int),
        per_page=a.get("per_page", expert_search.PER_PAGE, type=int),
    )
    return jsonify(
        {
            "items": [_row(e) for e in result.items],
            "total": result.total,
            "page": result.page,
            "per_page": result.per_page,
            "by_specialty": dict(result.by_specialty),
            "by_city": dict(result.by_city),
        }
    )


@bp.route("/review-queue", methods=["GET"])
@roles(UserRole.REVIEWER)
def queue() -> Any:
    """Applications waiting for a decision (filters: status, city, specialty)."""
    a = request.args
    page = review.queue(
        db(),
        status=a.get("status"),
        city=a.get("city"),
        specialty=a.get("specialty"),
        page=a.get("page", 1, type=int),
        reviewer=_user(),
    )
    shared = records.shared_id_numbers(db(), page.items)
    return jsonify(
        {
            "items": [{**_row(e), "id_number_also_on": shared.get(e.id, [])} for e in page.items],
            "total": page.total,
            "page": page.page,
        }
    )


@bp.route("/<int:expert_id>", methods=["GET"])
@roles(*STAFF)
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
def version(expert_id: int, number: int) -> Any:
    """One submitted version."""
    return jsonify(records.version(db(), expert_id, number))


@bp.route("/<int:expert_id>/decision", methods=["POST"])
@roles(UserRole.REVIEWER)
def decide(expert_id: int) -> Any:
    """Approve, return or reject: `{"decision", "opinion", "version"}`; a stale version is 409."""
    body = _body()
    expert = review.decide(
        db(),
        reviewer=_user(),
        expert_id=expert_id,
        decision=str(body.get("decision") or ""),
        opinion=str(body.get("opinion") or ""),
        expected_version=body.get("version"),
    )
    return jsonify(_row(expert))


@bp.route("/<int:expert_id>/reveal", methods=["POST"])
@roles(UserRole.REVIEWER)
def reveal(expert_id: int) -> Any:
    """The clear ID number and phone, with a logged reason."""
    return jsonify(
        review.reveal(
            db(),
            cipher=cipher(),
            user=_user(),
            expert_id=expert_id,
            reason=str(_body().get("reason") or ""),
        )
    )


@bp.route("/changes/<int:change_id>/decision", methods=["POST"])
@roles(UserRole.REVIEWER)
def decide_change(change_id: int) -> Any:
    """Approve or refuse a pending change: `{"approve": bool, "opinion"}`."""
    body = _body()
    change = review.decide_change(
        db(),
        reviewer=_user(),
        change_id=change_id,
        approve=body.get("approve") is True,
        opinion=str(body.get("opinion") or ""),
    )
    return jsonify({"id": change.id, "status": change.status.value})


@bp.route("/<int:expert_id>/status", methods=["POST"])
@roles(UserRole.SUPERVISOR)
def set_status(expert_id: int) -> Any:
    """Suspend (with `until`), reinstate, retire or remove: `{"status", "reason", "until"}`."""
    body = _body()
    expert = review.change_status(
        db(),
        actor=_user(),
        expert_id=expert_id,
        target=str(body.get("status") or ""),
        reason=str(body.get("reason") or ""),
        until=_day(body, "until"),
    )
    return jsonify(_row(expert))
