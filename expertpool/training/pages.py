"""Continuing-education pages: an expert's own hours and certificates; staff's courses and
imports.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from expertpool.accounts.access import require_user, roles
from expertpool.accounts.models import UserRole
from expertpool.core.calendar import cst_date
from expertpool.core.db import utcnow
from expertpool.core.errors import AppError, ValidationFailed
from expertpool.core.pii import PiiCipher
from expertpool.core.state import config, db, state
from expertpool.experts import applications, terms
from expertpool.training import records as training

bp = Blueprint("training", __name__, url_prefix="/training", template_folder="templates")


def _date(raw: str | None) -> date | None:
    try:
        return date.fromisoformat(raw) if raw else None
    except ValueError:
        return None


@bp.route("/mine", methods=["GET", "POST"])
@roles(UserRole.EXPERT)
def mine() -> Any:
    """My continuing education: hours this year, my courses, record one with its certificate."""
    user = require_user()
    expert = applications.ensure_record(db(), user)
    errors: dict[str, str] = {}
    refused = 200
    if request.method == "POST":
        upload = request.files.get("certificate")
        try:
            training.record_attendance(
                db(),
                config=config(),
                files=state().files,
                actor=user,
                course_code=request.form.get("course", ""),
                filename=(upload.filename or "") if upload else "",
                data=upload.read() if upload else b"",
            )
        except ValidationFailed as exc:
            errors = exc.fields
            db().rollback()
        except AppError as exc:
            flash(exc.message, "error")
            db().rollback()
            refused = exc.http_status
        else:
            flash(_("Saved."), "success")
            return redirect(url_for("training.mine"))
    year = cst_date(utcnow()).year
    rules = terms.rules_for(config())
    return render_template(
        "training/mine.html",
        expert=expert,
        rows=training.own_records(db(), expert.id),
        courses=training.list_courses(db()),
        year=year,
        hours=training.hours_by_expert(db(), year).get(expert.id, 0),
        required=rules.training_hours_per_year,
        errors=errors,
        form=request.form,
    ), (422 if errors else refused)


@bp.route("/courses", methods=["GET", "POST"])
@roles(UserRole.REVIEWER, UserRole.ADMIN)
def courses() -> Any:
    """Courses: publish one, or import attendance from a CSV or Excel file."""
    user = require_user()
    errors: dict[str, str] = {}
    refused = 200
    if request.method == "POST":
        try:
            if request.form.get("action") == "import":
                upload = request.files.get("file")
                if upload is None or not upload.filename:
                    raise ValidationFailed(fields={"file": _("Required.")})
                report = training.import_attendance(
                    db(),
                    cipher=PiiCipher.from_keys(state().keys),
                    actor=user,
                    filename=upload.filename,
                    data=upload.read(),
                )
                flash(
                    _(
                        "%(added)d attendances added, %(already)d already on record.",
                        added=report.added,
                        already=report.already,
                    ),
                    "success",
                )
            else:
                training.add_course(
                    db(),
                    actor=user,
                    code=request.form.get("code", ""),
                    title=request.form.get("title", ""),
                    hours=request.form.get("hours", type=int),
                    held_on=_date(request.form.get("held_on")),
                    provider=request.form.get("provider", ""),
                )
                flash(_("Saved."), "success")
        except ValidationFailed as exc:
            errors = exc.fields
            db().rollback()
        except AppError as exc:
            flash(exc.message, "error")
            db().rollback()
            refused = exc.http_status
        else:
            return redirect(url_for("training.courses"))
    return render_template(
        "training/courses.html",
        courses=training.list_courses(db()),
        errors=errors,
        form=request.form,
    ), (422 if errors else refused)
