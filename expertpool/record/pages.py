"""The record's pages: a session's assessment (the rating form), the expert's own record and
objection, reviewers' objections and sanctions, the archive page and its PDF, the credit rules.

Who sees what follows the visibility table (docs/record.md): before the project's close a
session's assessment is shown only to its hosts (their venue's members by name, the main host
also remote members by alias), its supervisors, and the tenderer's contact (members by alias
only, to rate); afterwards to the session's and the project's supervisors, each reading audited.
Everyone else is answered "not found", as for a session that does not exist.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select

from expertpool.accounts.access import public, require_user, roles
from expertpool.accounts.models import UserRole
from expertpool.core import audit
from expertpool.core.calendar import cst_date
from expertpool.core.errors import AppError, NotFound, ValidationFailed
from expertpool.core.state import db, now, state
from expertpool.experts import applications
from expertpool.experts.models import Expert
from expertpool.organisations import directory
from expertpool.record import archive, assessment, credit, sanctions
from expertpool.record.credit_rules import CreditRules, credit_rules_for
from expertpool.record.models import Fact, FactKind, Posting, Rating, Sanction, SanctionKind
from expertpool.rooms.models import EvaluationSession
from expertpool.rooms.sessions import sessions_for_project, sessions_of

bp = Blueprint("record", __name__, url_prefix="/record", template_folder="templates")

ASSESSORS = (UserRole.CENTRE_STAFF, UserRole.SUPERVISOR, UserRole.ORG_CONTACT)
DEPARTMENT = (UserRole.REVIEWER, UserRole.SUPERVISOR)


def _rules() -> CreditRules:
    return credit_rules_for(state().config)


def _upload(name: str) -> tuple[bytes, str] | None:
    f = request.files.get(name)
    if f is None or not f.filename:
        return None
    return f.read(), f.filename


@bp.app_template_filter("fact_label")
def _fact_label(kind: str) -> str:
    try:
        return str(assessment.FACT_LABELS[FactKind(kind)])
    except ValueError:
        return kind


@bp.app_template_filter("sanction_label")
def _sanction_label(kind: str) -> str:
    try:
        return str(sanctions.KIND_LABELS[SanctionKind(kind)])
    except ValueError:
        return kind


@bp.app_template_filter("record_status")
def _record_status(value: str) -> str:
    for k, v in sanctions.STATUS_LABELS.items():
        if k.value == value:
            return str(v)
    return value


@bp.route("/rules")
@public
def rules_page() -> str:
    """The credit rules in force, each with its source."""
    return render_template("record/rules.html", rules=_rules())


@bp.route("/sessions")
@roles(*ASSESSORS)
def session_list() -> str:
    """Sessions the user may assess (or read the assessment of) now."""
    session = db()
    user = require_user()
    rows = [row for row, _role in sessions_of(session, user, state().keys)]
    org = directory.organisation_of(session, user)
    if org is not None:
        for project in directory.projects_of(session, org):
            rows.extend(sessions_for_project(session, project.id))
    views = []
    seen: set[int] = set()
    for row in rows:
        if row.id in seen:
            continue
        seen.add(row.id)
        try:
            views.append(assessment.assessment(session, row.room_id, user, state().keys, _rules()))
        except NotFound:
            continue
    return render_template("record/sessions.html", views=views)


def _page(room_id: str, errors: dict[str, Any] | None = None, status: int = 200) -> Any:
    session = db()
    user = require_user()
    view = assessment.assessment(session, room_id, user, state().keys, _rules())
    if view.viewer == "supervisor" and view.is_project_closed:
        audit.record(
            session,
            actor=user.username,
            action="record.assessment_read",
            object_type="evaluation_session",
            object_id=room_id,
        )
        session.commit()
    comments = {r.id: assessment.comment_of(view.row, r, state().keys) for r in view.ratings}
    return render_template(
        "record/assessment.html",
        v=view,
        comments=comments,
        may_rate=view.may_rate_now(now()),
        criteria=assessment.CRITERIA,
        labels=assessment.CRITERIA_LABELS,
        rules=_rules(),
        errors=errors or {},
        form=request.form if request.method == "POST" else {},
    ), status


@bp.route("/sessions/<room_id>")
@roles(*ASSESSORS)
def session_page(room_id: str) -> Any:
    """One session's assessment: the rating form, the ratings entered, the facts seen."""
    return _page(room_id)


@bp.route("/sessions/<room_id>/rate", methods=["POST"])
@roles(*ASSESSORS)
def rate(room_id: str) -> Any:
    """Enter (or replace) the viewer's rating of one member."""
    user = require_user()
    pid = request.form.get("participant_id", "")
    try:
        assessment.rate(
            db(),
            room_id=room_id,
            user=user,
            keys=state().keys,
            rules=_rules(),
            participant_id=pid,
            form=dict(request.form),
            now=now(),
        )
    except ValidationFailed as exc:
        db().rollback()
        return _page(room_id, {pid: exc.fields}, 422)
    flash(_("Rating saved."), "success")
    return redirect(url_for("record.session_page", room_id=room_id))


@bp.route("/sessions/<room_id>/waive", methods=["POST"])
@roles(UserRole.SUPERVISOR)
def waive(room_id: str) -> Any:
    """A session supervisor sets a fact aside with a reason."""
    pid = request.form.get("participant_id", "")
    try:
        assessment.waive_fact(
            db(),
            room_id=room_id,
            user=require_user(),
            keys=state().keys,
            rules=_rules(),
            participant_id=pid,
            kind=request.form.get("kind", ""),
            reason=request.form.get("reason", ""),
        )
    except ValidationFailed as exc:
        db().rollback()
        return _page(room_id, {f"waive-{pid}": exc.fields}, 422)
    flash(_("The fact is set aside."), "success")
    return redirect(url_for("record.session_page", room_id=room_id))


@bp.route("/sessions/<room_id>/post", methods=["POST"])
@roles(UserRole.SUPERVISOR)
def post(room_id: str) -> Any:
    """A session supervisor posts the assessment now (after the project's close)."""
    session = db()
    user = require_user()
    view = assessment.assessment(session, room_id, user, state().keys, _rules())
    if view.viewer != "supervisor":
        raise NotFound()
    assessment.post_session(
        session,
        row=view.row,
        keys=state().keys,
        rules=_rules(),
        actor=user.username,
        now=now(),
        force=True,
    )
    flash(_("The assessment is posted to the experts' records."), "success")
    return redirect(url_for("record.session_page", room_id=room_id))


# The expert's own record -----------------------------------------------------------------


def _own_expert() -> Expert:
    return applications.ensure_record(db(), require_user())


@bp.route("/mine")
@roles(UserRole.EXPERT)
def mine() -> Any:
    """My record: this year's credit, my ratings and facts after each close, my objections."""
    return _mine()


def _mine(errors: dict[str, str] | None = None, status: int = 200) -> Any:
    session = db()
    user = require_user()
    expert = _own_expert()
    rules = _rules()
    ratings = list(
        session.execute(
            select(Rating)
            .where(Rating.user_id == user.id, Rating.posted_at.is_not(None))
            .order_by(Rating.id.desc())
        ).scalars()
    )
    facts = list(
        session.execute(
            select(Fact).where(Fact.expert_id == expert.id).order_by(Fact.id.desc())
        ).scalars()
    )
    ids = {r.session_id for r in ratings} | {f.session_id for f in facts if f.session_id}
    posted = set(
        session.execute(select(Posting.session_id).where(Posting.session_id.in_(ids))).scalars()
    )
    titles = dict(
        session.execute(
            select(EvaluationSession.id, EvaluationSession.title).where(
                EvaluationSession.id.in_(ids)
            )
        ).all()
    )
    return render_template(
        "record/mine.html",
        expert=expert,
        score=credit.score(session, expert.id, cst_date(now()).year, rules),
        rules=rules,
        ratings=ratings,
        facts=facts,
        events=credit.events_of(session, expert.id),
        sanction_rows=sanctions.sanctions_of(session, expert.id),
        session_ids=sorted(posted),
        titles=titles,
        objected={o.session_id: o for o in sanctions.objections_of(session, expert.id)},
        errors=errors or {},
    ), status


@bp.route("/mine/objections", methods=["POST"])
@roles(UserRole.EXPERT)
def object_to() -> Any:
    """Object, once, to a posted session's ratings and facts."""
    expert = _own_expert()
    try:
        sanctions.object_to(
            db(),
            expert=expert,
            session_id=request.form.get("session_id", type=int) or 0,
            text=request.form.get("text", ""),
            rules=_rules(),
            now=now(),
        )
    except ValidationFailed as exc:
        db().rollback()
        return _mine(exc.fields, 422)
    flash(_("Your objection is filed; a reviewer will decide it."), "success")
    return redirect(url_for("record.mine"))


# Reviewers: objections and sanctions ------------------------------------------------------


@bp.route("/reviews")
@roles(*DEPARTMENT)
def reviews() -> str:
    """Objections and sanctions of the experts the user's department covers."""
    session = db()
    user = require_user()
    return render_template(
        "record/reviews.html",
        objections=sanctions.pending_objections(session, user),
        sanction_rows=sanctions.visible_sanctions(session, user),
        may_decide=user.role is UserRole.REVIEWER,
        errors={},
    )


@bp.route("/objections/<int:objection_id>/decide", methods=["POST"])
@roles(UserRole.REVIEWER)
def decide_objection(objection_id: int) -> Any:
    """Uphold or reject an objection."""
    try:
        sanctions.decide_objection(
            db(),
            actor=require_user(),
            objection_id=objection_id,
            uphold=request.form.get("outcome") == "uphold",
            decision=request.form.get("decision", ""),
            rules=_rules(),
            now=now(),
        )
    except ValidationFailed as exc:
        db().rollback()
        flash(" ".join(exc.fields.values()) or exc.message, "error")
        return redirect(url_for("record.reviews")), 303
    flash(_("The objection is decided."), "success")
    return redirect(url_for("record.reviews"))


@bp.route("/sanctions/<int:sanction_id>/decide", methods=["POST"])
@roles(UserRole.REVIEWER)
def decide_sanction(sanction_id: int) -> Any:
    """Decide (or reject) a proposed sanction, with the decision and any evidence."""
    try:
        sanctions.decide(
            db(),
            actor=require_user(),
            sanction_id=sanction_id,
            approve=request.form.get("outcome") == "decide",
            decision=request.form.get("decision", ""),
            ends_on=request.form.get("ends_on", ""),
            evidence=_upload("evidence"),
            files=state().files,
            rules=_rules(),
            now=now(),
        )
    except ValidationFailed as exc:
        db().rollback()
        session = db()
        user = require_user()
        return render_template(
            "record/reviews.html",
            objections=sanctions.pending_objections(session, user),
            sanction_rows=sanctions.visible_sanctions(session, user),
            may_decide=True,
            errors={sanction_id: exc.fields},
        ), 422
    flash(_("The sanction is decided."), "success")
    return redirect(url_for("record.reviews"))


@bp.route("/sanctions/<int:sanction_id>/evidence")
@roles(*DEPARTMENT)
def evidence(sanction_id: int) -> Response:
    """A sanction's evidence file, for the department covering the expert (audited)."""
    session = db()
    user = require_user()
    row = session.get(Sanction, sanction_id)
    if row is None or not row.evidence_digest:
        raise NotFound()
    expert = session.get(Expert, row.expert_id)
    if expert is None or not sanctions.covers(session, user, expert):
        raise NotFound()
    data = state().files.get(row.evidence_digest)
    audit.record(
        session,
        actor=user.username,
        action="record.evidence_read",
        object_type="record_sanction",
        object_id=row.id,
        after={"sha256": row.evidence_digest},
    )
    session.commit()
    return Response(
        data,
        mimetype="application/octet-stream",
        headers={"Content-Disposition": "attachment; filename=evidence.bin"},
    )


# The archive ----------------------------------------------------------------


def _archive_page(expert_id: int, errors: dict[str, str] | None = None, status: int = 200) -> Any:
    session = db()
    user = require_user()
    expert = archive.readable_expert(session, user, expert_id)
    built = archive.build(session, expert, state().keys, _rules(), now=now())
    archive.record_reading(session, user, expert, state().keys, via="page")
    return render_template(
        "record/archive.html",
        a=built,
        expert=expert,
        is_department=user.role in DEPARTMENT and sanctions.covers(session, user, expert),
        is_supervisor=user.role is UserRole.SUPERVISOR,
        kinds=list(SanctionKind),
        errors=errors or {},
        form=request.form if request.method == "POST" else {},
    ), status


@bp.route("/experts/<int:expert_id>")
@roles(UserRole.EXPERT, *DEPARTMENT)
def archive_page(expert_id: int) -> Any:
    """One expert's archive (their own for an expert)."""
    return _archive_page(expert_id)


@bp.route("/mine/archive")
@roles(UserRole.EXPERT)
def my_archive() -> Any:
    """My own archive."""
    return redirect(url_for("record.archive_page", expert_id=_own_expert().id))


@bp.route("/experts/<int:expert_id>/archive.pdf")
@roles(UserRole.EXPERT, *DEPARTMENT)
def archive_pdf(expert_id: int) -> Response:
    """The archive as a PDF; every export is audited."""
    session = db()
    user = require_user()
    expert = archive.readable_expert(session, user, expert_id)
    pdf = archive.export_pdf(session, user, expert, state().keys, _rules(), now=now())
    return Response(
        pdf,
        mimetype="application/pdf",
        headers={"Content-Disposition": f"attachment; filename=archive-{expert.id}.pdf"},
    )


@bp.route("/experts/<int:expert_id>/sanctions", methods=["POST"])
@roles(*DEPARTMENT)
def propose_sanction(expert_id: int) -> Any:
    """Propose a sanction for the expert, with its reason and any evidence."""
    try:
        sanctions.propose(
            db(),
            actor=require_user(),
            expert_id=expert_id,
            kind=request.form.get("kind", ""),
            reason=request.form.get("reason", ""),
            ends_on=request.form.get("ends_on", ""),
            evidence=_upload("evidence"),
            files=state().files,
            today=cst_date(now()),
        )
    except ValidationFailed as exc:
        db().rollback()
        return _archive_page(expert_id, exc.fields, 422)
    flash(_("The sanction is proposed; a reviewer decides it."), "success")
    return redirect(url_for("record.archive_page", expert_id=expert_id))


@bp.route("/experts/<int:expert_id>/complaints", methods=["POST"])
@roles(UserRole.SUPERVISOR)
def complaint_upheld(expert_id: int) -> Any:
    """Record a decided complaint upheld against the expert."""
    try:
        sanctions.record_complaint_upheld(
            db(),
            actor=require_user(),
            expert_id=expert_id,
            complaint_id=request.form.get("complaint_id", type=int) or 0,
            detail=request.form.get("detail", ""),
            rules=_rules(),
            now=now(),
        )
    except ValidationFailed as exc:
        db().rollback()
        return _archive_page(expert_id, exc.fields, 422)
    except AppError:
        db().rollback()
        raise
    flash(_("The upheld complaint is recorded."), "success")
    return redirect(url_for("record.archive_page", expert_id=expert_id))
