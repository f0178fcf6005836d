"""Expert pages: registration, my application, my leave, review queue, staff search, record view."""

from __future__ import annotations

import io
from datetime import date
from typing import Any

from flask import (
    Blueprint,
    flash,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_babel import gettext as _
from sqlalchemy import select

from expertpool.accounts.access import login_required, open_login, public, require_user, roles
from expertpool.accounts.models import User, UserRole
from expertpool.core.calendar import cst_date
from expertpool.core.errors import AppError, Forbidden, NotFound, ValidationFailed, must_exist
from expertpool.core.forms import parse_id
from expertpool.core.pii import PiiCipher
from expertpool.core.state import config, db, limiter, now, state
from expertpool.departments import scope
from expertpool.experts import (
    applications,
    availability,
    entry,
    labels,
    publicity,
    records,
    relatives,
    review,
    terms,
)
from expertpool.experts import evidence as expert_evidence
from expertpool.experts import search as expert_search
from expertpool.experts.form import SCALARS
from expertpool.experts.models import (
    EntryState,
    EvidenceFile,
    Expert,
    ExpertStatus,
    RelativeKind,
    TitleLevel,
)
from expertpool.reference.models import Region

bp = Blueprint("experts", __name__, url_prefix="/experts", template_folder="templates")
STAFF = (UserRole.REVIEWER, UserRole.CENTRE_STAFF, UserRole.SUPERVISOR, UserRole.ADMIN)
ROWS = 3  # employment and avoidance rows on the form


def cipher() -> PiiCipher:
    """The personal-data cipher of this application."""
    return PiiCipher.from_keys(state().keys)


def cities() -> list[Region]:
    """The 21 cities and Shunde, for selects."""
    return list(
        db().execute(select(Region).where(Region.level >= 2).order_by(Region.code)).scalars()
    )


def form_input(form: Any) -> dict[str, Any]:
    """Application input from the HTML form (rows left blank are dropped)."""
    data: dict[str, Any] = {k: form.get(k, "") for k in SCALARS}
    data["specialties"] = form.get("specialties", "")
    data["consent"] = form.get("consent") == "on"
    data["employment"] = [
        {
            k: form.get(f"employment-{i}-{k}", "")
            for k in ("org_code", "org_name", "start_on", "end_on")
        }
        for i in range(ROWS)
        if form.get(f"employment-{i}-org_code") or form.get(f"employment-{i}-org_name")
    ]
    data["avoidances"] = [
        {k: form.get(f"avoidances-{i}-{k}", "") for k in ("org_code", "org_name", "kind")}
        for i in range(ROWS)
        if form.get(f"avoidances-{i}-org_code") or form.get(f"avoidances-{i}-org_name")
    ]
    return data


def entry_view(expert: Expert) -> dict[str, Any]:
    """Where an application stands on its way in: chain, current step, batch, publicity."""
    flow = entry.rules_for(config())
    chain = flow.chain_for(expert.specialty_codes)
    row = db().get(EntryState, expert.id)
    return {
        "chain": chain,
        "index": entry.step_index(chain, row),
        "row": row,
        "waiting": entry.waiting_for(flow, expert, cst_date(now()))
        if expert.status in review.QUEUE_STATES
        else None,
        "recommended_by": row.recommended_by if row else "",
    }


def _date(raw: str | None) -> date | None:
    try:
        return date.fromisoformat(raw) if raw else None
    except ValueError:
        return None


@bp.route("/register", methods=["GET", "POST"])
@public
@limiter.limit("10 per minute", methods=["POST"])
def register() -> Any:
    """A visitor creates an expert account and starts an application."""
    errors: dict[str, str] = {}
    if request.method == "POST":
        try:
            expert = applications.register_applicant(
                db(),
                username=request.form.get("username", "").strip(),
                password=request.form.get("password", ""),
                display_name=request.form.get("display_name", ""),
            )
        except ValidationFailed as exc:
            errors = exc.fields
        else:
            user = must_exist(db().get(User, expert.user_id))
            open_login(user)
            flash(_("Account created. Fill in your application."), "success")
            return redirect(url_for("experts.mine"))
    return render_template("experts/register.html", form=request.form, errors=errors), (
        422 if errors else 200
    )


@bp.route("/me", methods=["GET", "POST"])
@roles(UserRole.EXPERT)
def mine() -> Any:
    """My application: edit the draft, upload evidence, submit; or propose a change once active."""
    user = require_user()
    expert = applications.ensure_record(db(), user)
    errors: dict[str, str] = {}
    refused = 200
    form: Any = request.form
    if request.method == "POST":
        action = request.form.get("action", "save")
        try:
            if action == "change":
                review.propose_change(
                    db(),
                    config=config(),
                    actor=user,
                    expert_id=expert.id,
                    data={k: request.form.get(k, "") for k in review.CHANGE_KEYS},
                )
                flash(_("Your change was sent for review."), "success")
            else:
                upload = request.files.get("evidence")
                content = upload.read() if upload is not None and upload.filename else None
                if upload is not None and content is not None:
                    # A refused file refuses the whole form: nothing of it is saved.
                    expert_evidence.sniff_evidence(
                        upload.filename or "", content, config().evidence_max_bytes
                    )
                applications.save_draft(
                    db(),
                    cipher=cipher(),
                    config=config(),
                    actor=user,
                    expert_id=expert.id,
                    data=form_input(request.form),
                )
                if upload is not None and content is not None:
                    expert_evidence.add_evidence(
                        db(),
                        config=config(),
                        files=state().files,
                        actor=user,
                        expert_id=expert.id,
                        filename=upload.filename or "",
                        data=content,
                    )
                if action == "submit":
                    applications.submit(
                        db(), cipher=cipher(), config=config(), actor=user, expert_id=expert.id
                    )
                    flash(_("Your application was submitted."), "success")
                else:
                    flash(_("Draft saved."), "success")
        except ValidationFailed as exc:
            errors = exc.fields
            flash(_("Some fields are invalid."), "error")
        except AppError as exc:
            db().rollback()
            flash(exc.message, "error")
            refused = exc.http_status
        else:
            return redirect(url_for("experts.mine"))
    record = records.view(expert, cipher(), reveal=True)
    return render_template(
        "experts/mine.html",
        expert=expert,
        record=record,
        form=form if errors else None,
        errors=errors,
        cities=cities(),
        levels=list(TitleLevel),
        rows=ROWS,
        decisions=review.decisions(db(), expert.id),
        versions=records.versions(db(), expert.id),
        changes=review.pending_changes(db(), expert.id),
        entry=entry_view(expert),
    ), (422 if errors else refused)


@bp.route("/me/leave", methods=["GET", "POST"])
@roles(UserRole.EXPERT)
def my_leave() -> Any:
    """My leave calendar: declare or withdraw unavailable periods."""
    user = require_user()
    expert = applications.ensure_record(db(), user)
    errors: dict[str, str] = {}
    refused = 200
    if request.method == "POST":
        try:
            if request.form.get("cancel"):
                availability.cancel_leave(
                    db(), actor=user, leave_id=parse_id(request.form["cancel"], "cancel")
                )
            else:
                start, end = request.form.get("start_on"), request.form.get("end_on")
                if (start and _date(start) is None) or (end and _date(end) is None):
                    raise ValidationFailed(fields={"start_on": _("Use a date like 2020-01-31.")})
                availability.declare_leave(
                    db(),
                    actor=user,
                    expert_id=expert.id,
                    start_on=_date(start),
                    end_on=_date(end),
                    reason=request.form.get("reason", ""),
                )
        except ValidationFailed as exc:
            errors = exc.fields
        except AppError as exc:
            db().rollback()
            flash(exc.message, "error")
            refused = exc.http_status
        else:
            flash(_("Saved."), "success")
            return redirect(url_for("experts.my_leave"))
    return render_template("experts/leave.html", expert=expert, errors=errors, form=request.form), (
        422 if errors else refused
    )


@bp.route("/me/relatives", methods=["GET", "POST"])
@roles(UserRole.EXPERT)
def my_relatives() -> Any:
    """My near relatives, by ID number (for the conflict rules of every draw)."""
    user = require_user()
    expert = applications.ensure_record(db(), user)
    errors: dict[str, str] = {}
    if request.method == "POST":
        try:
            if request.form.get("remove"):
                relatives.remove_relative(
                    db(), actor=user, relative_id=request.form.get("remove", 0, type=int)
                )
            else:
                relatives.declare_relative(
                    db(),
                    cipher=cipher(),
                    actor=user,
                    kind=request.form.get("kind", ""),
                    id_number=request.form.get("id_number", ""),
                )
        except ValidationFailed as exc:
            errors = exc.fields
            db().rollback()
        except AppError as exc:
            flash(exc.message, "error")
            db().rollback()
        else:
            flash(_("Saved."), "success")
            return redirect(url_for("experts.my_relatives"))
    return render_template(
        "experts/relatives.html", expert=expert, errors=errors, kinds=list(RelativeKind)
    ), (422 if errors else 200)


@bp.route("/evidence/<int:evidence_id>")
@login_required
def evidence(evidence_id: int) -> Any:
    """Download an evidence file (its owner and staff)."""
    user = require_user()
    row = db().get(EvidenceFile, evidence_id)
    if row is None:
        raise NotFound()
    owner = records.get_expert(db(), row.expert_id)
    if owner.user_id != user.id and user.role not in STAFF:
        raise Forbidden()
    data = expert_evidence.evidence_bytes(state().files, row)
    return send_file(
        io.BytesIO(data), mimetype=row.mime, download_name=row.original_name, as_attachment=True
    )


@bp.route("/review")
@roles(UserRole.REVIEWER)
def review_queue() -> Any:
    """Applications waiting for a decision, with filters; and pending changes."""
    args = request.args
    page = review.queue(
        db(),
        status=args.get("status") or None,
        city=args.get("city") or None,
        specialty=args.get("specialty") or None,
        page=args.get("page", 1, type=int),
        reviewer=require_user(),
        entry_rules=entry.rules_for(config()),
        today=cst_date(now()),
    )
    flow = entry.rules_for(config())
    objections = [
        o
        for o in publicity.open_objections(db())
        if publicity.may_resolve(db(), require_user(), records.get_expert(db(), o.expert_id), flow)
    ]
    return render_template(
        "experts/queue.html",
        steps={e.id: review.current_step(db(), flow, e).name for e in page.items},
        recommended={
            e.id: row.recommended_by
            for e in page.items
            if (row := db().get(EntryState, e.id)) is not None and row.recommended_by
        },
        objections=objections,
        page=page,
        args=args,
        cities=cities(),
        statuses=list(ExpertStatus),
        changes=review.pending_changes(db(), reviewer=require_user()),
        shared=records.shared_id_numbers(db(), page.items),
    )


@bp.route("/search")
@roles(*STAFF)
def search() -> Any:
    """Staff search by specialty prefix, city, status, title and name."""
    args = request.args
    result = expert_search.search(
        db(),
        specialty=args.get("specialty") or None,
        city=args.get("city") or None,
        status=args.get("status") or None,
        title=args.get("title") or None,
        name=args.get("name") or None,
        page=args.get("page", 1, type=int),
    )
    names = {r.code: r.name for r in cities()}
    return render_template(
        "experts/search.html",
        result=result,
        args=args,
        cities=cities(),
        names=names,
        statuses=list(ExpertStatus),
    )


@bp.route("/<int:expert_id>", methods=["GET", "POST"])
@roles(*STAFF)
def record(expert_id: int) -> Any:
    """One expert for staff: masked personal data, versions, decisions; reviewers decide here."""
    user = require_user()
    expert = records.get_expert(db(), expert_id)
    if user.role is UserRole.REVIEWER:
        # A reviewer reads only the records their department covers.
        scope.require_review(db(), user, expert.specialty_codes, expert.home_region)
    revealed: dict[str, str] | None = None
    errors: dict[str, str] = {}
    refused = 200
    if request.method == "POST":
        action = request.form.get("action")
        try:
            if action == "reveal":
                revealed = review.reveal(
                    db(),
                    cipher=cipher(),
                    user=user,
                    expert_id=expert.id,
                    reason=request.form.get("reason", ""),
                )
            elif action in review.DECISIONS:
                review.decide(
                    db(),
                    reviewer=user,
                    expert_id=expert.id,
                    decision=action,
                    opinion=request.form.get("opinion", ""),
                    expected_version=request.form.get("version", type=int),
                    rules=terms.rules_for(config()),
                    entry_rules=entry.rules_for(config()),
                    today=cst_date(now()),
                )
                flash(_("Decision recorded."), "success")
                return redirect(url_for("experts.record", expert_id=expert.id))
            elif action in ("change_approve", "change_reject"):
                review.decide_change(
                    db(),
                    reviewer=user,
                    change_id=parse_id(request.form.get("change"), "change"),
                    approve=action == "change_approve",
                    opinion=request.form.get("opinion", ""),
                )
                flash(_("Decision recorded."), "success")
                return redirect(url_for("experts.record", expert_id=expert.id))
            elif action in ("objection_uphold", "objection_dismiss"):
                publicity.resolve(
                    db(),
                    reviewer=user,
                    objection_id=parse_id(request.form.get("objection"), "objection"),
                    uphold=action == "objection_uphold",
                    resolution=request.form.get("resolution", ""),
                    rules=entry.rules_for(config()),
                )
                flash(_("Decision recorded."), "success")
                return redirect(url_for("experts.record", expert_id=expert.id))
            elif action == "renew":
                terms.renew_term(
                    db(),
                    reviewer=user,
                    expert_id=expert.id,
                    rules=terms.rules_for(config()),
                    opinion=request.form.get("opinion", ""),
                )
                flash(_("The term is renewed."), "success")
                return redirect(url_for("experts.record", expert_id=expert.id))
            elif action == "status":
                review.change_status(
                    db(),
                    actor=user,
                    expert_id=expert.id,
                    target=request.form.get("status", ""),
                    reason=request.form.get("reason", ""),
                    until=_date(request.form.get("until")),
                )
                flash(_("Saved."), "success")
                return redirect(url_for("experts.record", expert_id=expert.id))
            else:
                raise ValidationFailed(fields={"action": _("Unknown action.")})
        except ValidationFailed as exc:
            errors = exc.fields
        except AppError as exc:
            flash(exc.message, "error")
            refused = exc.http_status
            db().rollback()
            expert = records.get_expert(db(), expert_id)
    data = records.view(expert, cipher(), reveal=False)
    if revealed:
        data.update(revealed)
    can_review = user.role is UserRole.REVIEWER and scope.may_review(
        db(), user, expert.specialty_codes, expert.home_region
    )
    stage = entry_view(expert)
    flow = entry.rules_for(config())
    may_resolve = can_review and publicity.may_resolve(db(), user, expert, flow)
    objections = publicity.objections(db(), expert.id) if can_review else []
    return render_template(
        "experts/record.html",
        entry=stage,
        owns_step=can_review and entry.owns(db(), user, expert, stage["chain"][stage["index"]]),
        objections=[
            (o, publicity.contact_of(cipher(), o) if may_resolve else "") for o in objections
        ],
        may_resolve=may_resolve,
        expert=expert,
        record=data,
        revealed=revealed,
        errors=errors,
        decisions=review.decisions(db(), expert.id),
        versions=records.versions(db(), expert.id),
        changes=review.pending_changes(db(), expert.id),
        user=user,
        can_review=can_review,
        shared=records.sharing_id_number(db(), expert) if can_review else [],
    ), (422 if errors else refused)


@bp.route("/<int:expert_id>/versions/<int:number>")
@login_required
def version(expert_id: int, number: int) -> Any:
    """One submitted version of an application (its owner and staff)."""
    user = require_user()
    expert = records.get_expert(db(), expert_id)
    if expert.user_id != user.id and user.role not in STAFF:
        raise Forbidden()
    return render_template(
        "experts/version.html", expert=expert, snap=records.version(db(), expert_id, number)
    )


labels.register_filters(bp)
