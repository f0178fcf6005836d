"""Fee pages: the published schedules (public), an administrator's change, statements,
adjustments, payment batches, and an expert's own fees with a yearly summary.

Statements exist only after a project's close (see `statements.make_statement`), so no page
here can show a panel before its opening. Statements name experts: they are shown to the staff
of the centre that settles them, to the supervisors of the project and to the contacts of the
project's tenderer and agency (the visibility table's closed column), each reading audited;
administrators see none; an expert sees only their own lines.
"""

from __future__ import annotations

import contextlib
from datetime import date
from typing import Any

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from expertpool.accounts.access import current_user, public, require_user, roles
from expertpool.accounts.models import User, UserRole
from expertpool.core.calendar import cst_date
from expertpool.core.errors import AppError, Conflict, Forbidden, NotFound, ValidationFailed
from expertpool.core.state import db, now, state
from expertpool.core.texts import _l
from expertpool.fees import payments, schedules, statements
from expertpool.fees.models import FeeStatement, LineKind, LineStatus, RuleKind
from expertpool.fees.money import yuan
from expertpool.organisations import directory
from expertpool.projects.models import Project
from expertpool.projects.projects import require_reader

bp = Blueprint("fees", __name__, url_prefix="/fees", template_folder="templates")

STAFF = (UserRole.CENTRE_STAFF, UserRole.SUPERVISOR)
READERS = (*STAFF, UserRole.ORG_CONTACT)
"""Who may read statements (after the close): the settling centre's staff, the project's
supervisors and its tenderer's and agency's contacts. Administrators see nothing about members."""


STATUS_LABELS = {
    LineStatus.UNPAID: _l("unpaid"),
    LineStatus.IN_BATCH: _l("in a payment batch"),
    LineStatus.PAID: _l("paid"),
    LineStatus.FAILED: _l("payment failed"),
    LineStatus.RECORDED: _l("reversal recorded"),
}


@bp.app_template_filter("yuan")
def _yuan(fen: int) -> str:
    return f"{yuan(fen):,}"


@bp.app_template_filter("fee_status")
def _fee_status(status: str) -> str:
    try:
        return str(STATUS_LABELS[LineStatus(status)])
    except ValueError:
        return status


@bp.route("/schedules")
@public
def published() -> str:
    """The schedules and the tax rule in force today (or on `?on=`), with their sources."""
    session = db()
    day = cst_date(now())
    with contextlib.suppress(ValueError):
        day = date.fromisoformat(request.args.get("on") or day.isoformat())
    tax, tax_number = schedules.tax_rule_for(session, day)
    return render_template(
        "fees/schedules.html",
        day=day,
        rows=schedules.published(session, day),
        tax=tax,
        tax_number=tax_number,
        history=schedules.history(session),
        can_change=(u := current_user()) is not None and u.role is UserRole.ADMIN,
    )


@bp.route("/schedules/change", methods=["GET", "POST"])
@roles(UserRole.ADMIN)
def change() -> Any:
    """An administrator stores a new version of a schedule or of the tax rule."""
    errors: dict[str, str] = {}
    form: Any = request.form if request.method == "POST" else dict(request.args)
    if request.method == "GET" and not form.get("document"):
        form["document"] = schedules.latest_document(
            db(), form.get("kind", "schedule"), form.get("scope", schedules.PROVINCE)
        )
    if request.method == "POST":
        try:
            row = schedules.change(
                db(),
                actor=require_user(),
                kind=form.get("kind", ""),
                scope=form.get("scope", ""),
                document=form.get("document", ""),
                effective_on=form.get("effective_on", ""),
                note=form.get("note", ""),
                now=now(),
            )
        except ValidationFailed as exc:
            db().rollback()
            errors = exc.fields or {"document": exc.message}
        else:
            flash(
                _(
                    "Version %(n)d is in force from %(d)s.",
                    n=row.number,
                    d=row.effective_on.isoformat(),
                ),
                "success",
            )
            return redirect(url_for("fees.published"))
    return render_template(
        "fees/change.html", form=form, errors=errors, kinds=[k.value for k in RuleKind]
    ), (422 if errors else 200)


def _readable(statement: FeeStatement, user: User) -> None:
    session = db()
    if statement.project_id is not None:
        project = session.get(Project, statement.project_id)
        if project is None:
            raise NotFound()
        if user.role is UserRole.CENTRE_STAFF and statement.centre_id == user.centre_id:
            return
        if user.role is UserRole.ORG_CONTACT:
            directory.require_contact_of(session, user, project)
            return
        require_reader(session, user, project)
        return
    if user.role is UserRole.ORG_CONTACT:
        raise Forbidden()
    if user.role is UserRole.CENTRE_STAFF and statement.centre_id != user.centre_id:
        raise Forbidden(str(_("You may act only for your own centre.")))


@bp.route("/statements")
@roles(*READERS)
def statement_list() -> str:
    """Statements the user may read, newest first."""
    session = db()
    user = require_user()
    rows = []
    for s in statements.all_statements(session):
        try:
            _readable(s, user)
        except AppError:
            continue
        rows.append(s)
    return render_template(
        "fees/statements.html",
        rows=rows,
        pending=statements.pending_adjustments(session, user)
        if user.role is UserRole.SUPERVISOR
        else [],
        can_make=user.role is UserRole.CENTRE_STAFF,
    )


@bp.route("/statements/make", methods=["POST"])
@roles(UserRole.CENTRE_STAFF)
def make_due() -> Any:
    """Make the statements of every closed session that has none."""
    user = require_user()
    made = statements.make_due_statements(db(), state().keys, actor=user.username)
    flash(_("%(n)d statements made.", n=made), "success")
    return redirect(url_for("fees.statement_list"))


@bp.route("/statements/<int:statement_id>")
@roles(*READERS)
def statement(statement_id: int) -> str:
    """One statement: who, hours, gross, tax, net, payer, and what was paid."""
    session = db()
    user = require_user()
    row = statements.get_statement(session, statement_id)
    _readable(row, user)
    statements.record_reading(session, user, row)
    return render_template(
        "fees/statement.html",
        s=row,
        can_act=user.role is UserRole.CENTRE_STAFF,
        errors={},
        LineKind=LineKind,
        LineStatus=LineStatus,
    )


def _line_action(statement_id: int, action: Any) -> Any:
    session = db()
    user = require_user()
    row = statements.get_statement(session, statement_id)
    _readable(row, user)
    line_id = request.form.get("line_id", type=int) or 0
    if not any(line.id == line_id for line in row.lines):
        raise NotFound()
    try:
        message = action(session, user, line_id)
    except (ValidationFailed, Conflict) as exc:
        session.rollback()
        errors = getattr(exc, "fields", None) or {"line": exc.message}
        return render_template(
            "fees/statement.html",
            s=statements.get_statement(session, statement_id),
            can_act=True,
            errors=errors,
            error_line=line_id,
            LineKind=LineKind,
            LineStatus=LineStatus,
        ), 422
    flash(message, "success")
    return redirect(url_for("fees.statement", statement_id=statement_id))


@bp.route("/statements/<int:statement_id>/adjust", methods=["POST"])
@roles(UserRole.CENTRE_STAFF)
def adjust(statement_id: int) -> Any:
    """Ask a supervisor to approve an adjustment of an unpaid line."""

    def act(session: Any, user: User, line_id: int) -> str:
        statements.request_adjustment(
            session,
            actor=user,
            line_id=line_id,
            amount=request.form.get("amount", ""),
            reason=request.form.get("reason", ""),
        )
        return str(_("The adjustment waits for a supervisor's approval."))

    return _line_action(statement_id, act)


@bp.route("/statements/<int:statement_id>/reverse", methods=["POST"])
@roles(UserRole.CENTRE_STAFF)
def reverse(statement_id: int) -> Any:
    """Reverse a paid line (and reissue it unpaid)."""

    def act(session: Any, user: User, line_id: int) -> str:
        statements.reverse_line(
            session,
            actor=user,
            line_id=line_id,
            reason=request.form.get("reason", ""),
            reissue=True,
        )
        return str(_("The line was reversed and reissued unpaid."))

    return _line_action(statement_id, act)


@bp.route("/statements/<int:statement_id>/paid", methods=["POST"])
@roles(UserRole.CENTRE_STAFF)
def mark_paid(statement_id: int) -> Any:
    """Mark a line paid by hand with the payment's reference."""

    def act(session: Any, user: User, line_id: int) -> str:
        payments.mark_paid(
            session, actor=user, line_id=line_id, reference=request.form.get("reference", "")
        )
        return str(_("The line is marked paid."))

    return _line_action(statement_id, act)


@bp.route("/adjustments/<int:adjustment_id>", methods=["POST"])
@roles(UserRole.SUPERVISOR)
def decide(adjustment_id: int) -> Any:
    """A supervisor approves or rejects an adjustment."""
    approve = request.form.get("decision") == "approve"
    statements.decide_adjustment(
        db(), actor=require_user(), adjustment_id=adjustment_id, approve=approve
    )
    flash(_("Approved.") if approve else _("Rejected."), "success")
    return redirect(url_for("fees.statement_list"))


@bp.route("/batches", methods=["GET", "POST"])
@roles(UserRole.CENTRE_STAFF)
def batch_list() -> Any:
    """Payment batches, reconciliation, and a new batch for a payer and period."""
    session = db()
    user = require_user()
    errors: dict[str, str] = {}
    form = request.form
    if request.method == "POST":
        try:
            result = payments.create_batch(
                session,
                actor=user,
                payer_name=form.get("payer_name", ""),
                period_from=form.get("period_from", ""),
                period_to=form.get("period_to", ""),
            )
        except ValidationFailed as exc:
            session.rollback()
            errors = exc.fields or {}
        else:
            if result.batch is None:
                flash(_("No line to pay in that period."), "warning")
            else:
                flash(
                    _(
                        "Batch %(id)d: %(n)d lines; %(m)d left out without a bank account.",
                        id=result.batch.id,
                        n=result.lines,
                        m=result.without_account,
                    ),
                    "success",
                )
                return redirect(url_for("fees.batch", batch_id=result.batch.id))
    payers = payments.payers(session, user)
    return render_template(
        "fees/batches.html",
        batches=payments.batches(session, user),
        totals=payments.reconciliation(session, user),
        payers=payers,
        form=form,
        errors=errors,
    ), (422 if errors else 200)


@bp.route("/batches/<int:batch_id>", methods=["GET", "POST"])
@roles(UserRole.CENTRE_STAFF)
def batch(batch_id: int) -> Any:
    """A batch's lines; uploading the bank's returned file marks them paid or failed."""
    session = db()
    user = require_user()
    row = payments.get_batch(session, user, batch_id)
    errors: dict[str, str] = {}
    result = None
    if request.method == "POST":
        upload = request.files.get("file")
        if upload is None or not upload.filename:
            errors = {"file": _("Choose the returned file (CSV or Excel).")}
        else:
            try:
                result = payments.import_returned(
                    session,
                    actor=user,
                    batch=row,
                    content=upload.read(2_000_000),
                    filename=upload.filename,
                )
            except ValidationFailed as exc:
                session.rollback()
                errors = exc.fields or {}
    return render_template(
        "fees/batch.html",
        batch=row,
        lines=payments.batch_lines(session, row.id),
        errors=errors,
        result=result,
    ), (422 if errors else 200)


@bp.route("/batches/<int:batch_id>/export.<fmt>")
@roles(UserRole.CENTRE_STAFF)
def export(batch_id: int, fmt: str) -> Response:
    """The batch for the bank, as CSV or Excel (the export is audited)."""
    if fmt not in ("csv", "xlsx"):
        abort(404)
    session = db()
    user = require_user()
    row = payments.get_batch(session, user, batch_id)
    rows = payments.export_rows(session, state().keys, actor=user, batch=row)
    if fmt == "csv":
        body, mime = payments.to_csv(rows), "text/csv"
    else:
        body = payments.to_xlsx(rows)
        mime = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    return Response(
        body,
        mimetype=mime,
        headers={
            "Content-Disposition": f"attachment; filename=batch-{row.id}.{fmt}",
            "Cache-Control": "no-store",
        },
    )


@bp.route("/mine", methods=["GET", "POST"])
@roles(UserRole.EXPERT)
def mine() -> Any:
    """An expert's own fees per session, tax, whether paid, yearly totals and bank account."""
    session = db()
    user = require_user()
    errors: dict[str, str] = {}
    if request.method == "POST":
        try:
            payments.set_bank_account(
                session,
                state().keys,
                user=user,
                bank=request.form.get("bank", ""),
                account=request.form.get("account", ""),
            )
        except ValidationFailed as exc:
            session.rollback()
            errors = exc.fields or {}
        else:
            flash(_("Your bank account is saved."), "success")
            return redirect(url_for("fees.mine"))
    lines = statements.own_lines(session, user.id)
    account = payments.bank_account_of(session, state().keys, user.id)
    return render_template(
        "fees/mine.html",
        lines=lines,
        years=statements.year_summaries(lines),
        bank=account[0] if account else None,
        account=payments.masked(account[1]) if account else None,
        errors=errors,
        form=request.form,
        LineKind=LineKind,
    ), (422 if errors else 200)


@bp.route("/mine/<int:year>")
@roles(UserRole.EXPERT)
def mine_year(year: int) -> str:
    """A printable summary of one year's fees."""
    session = db()
    user = require_user()
    lines = statements.own_lines(session, user.id, year)
    summary = next(iter(statements.year_summaries(lines)), None)
    return render_template(
        "fees/year.html", year=year, lines=lines, summary=summary, user=user, LineKind=LineKind
    )
